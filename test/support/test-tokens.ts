import { jwtResolver, type HeaderSource } from '@rowfence/http'
import type { TenantContext } from '@rowfence/core'
import { SignJWT } from 'jose'

/** The tokens HTTP tests authenticate with: HS256, one issuer and audience, verified by testResolver(). */
const secret = 'contract-test-secret-of-at-least-32-bytes!'
const issuer = 'https://issuer.test'
const audience = 'rowfence-contract'

/** The verified-token resolver the HTTP tests give their middleware (jwtResolver, algorithm pinned). */
export function testResolver(): (request: HeaderSource) => Promise<TenantContext> {
  return jwtResolver({ secret, algorithms: ['HS256'], audience, issuer })
}

export interface TokenOptions {
  /** The user (`sub`); a fixed one by default. */
  readonly subject?: string | undefined
  /** Another audience than the one testResolver() accepts. */
  readonly audience?: string | undefined
  /** Expired a minute ago. */
  readonly expired?: boolean | undefined
}

/** A signed token for `tenantId` (claim `tenant_id`), valid for 5 minutes unless `expired`. */
export async function tokenFor(tenantId: string, options: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ tenant_id: tenantId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.subject ?? '00000000-0000-4000-8000-00000000000a')
    .setIssuer(issuer)
    .setAudience(options.audience ?? audience)
    .setIssuedAt()
  jwt.setExpirationTime(options.expired ? Math.floor(Date.now() / 1000) - 60 : '5m')
  return jwt.sign(new TextEncoder().encode(secret))
}
