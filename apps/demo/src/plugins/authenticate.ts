import type { KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { isUuid, RowfenceError, type TenantContext } from '@rowfence/core'
import type { TokenRevocations } from '../auth/revocations.ts'
import { verifyToken } from '../auth/token.ts'
import { DemoError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authenticate hook on every tenant route; absent means the hook did not run. */
    tenant?: TenantContext
    /** The bearer token's id and expiry, for revocation (DELETE /api/tokens/current). */
    apiToken?: { readonly tokenId: string; readonly expiresAt: Date }
  }
}

export interface AuthenticateOptions {
  readonly key: KeyObject
  /** Insecure demo mode: accept `X-Tenant-Id` without a token. Never enable in production. */
  readonly trustTenantHeader: boolean
  /** The denylist of revoked token ids; without it (no login pool), tokens cannot be revoked. */
  readonly revocations?: TokenRevocations | undefined
}

const bearer = /^Bearer ([A-Za-z0-9._~+/=-]+)$/

/** A verified token (or, in demo mode, the X-Tenant-Id header) yields the tenant context. */
export function createAuthenticate(options: AuthenticateOptions) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const authorization = request.headers.authorization
    if (authorization !== undefined) {
      const match = bearer.exec(authorization)
      if (!match?.[1])
        throw new DemoError('ROWFENCE_UNAUTHENTICATED', {
          message: 'Expected "Authorization: Bearer <token>"',
        })
      const claims = await verifyToken(match[1], options.key)
      await options.revocations?.assertActive(claims)
      request.apiToken = { tokenId: claims.tokenId, expiresAt: claims.expiresAt }
      request.tenant = { tenantId: claims.tenantId, userId: claims.userId }
      return
    }
    const header = request.headers['x-tenant-id']
    if (options.trustTenantHeader && header !== undefined) {
      const value = Array.isArray(header) ? undefined : header.trim()
      if (!isUuid(value)) {
        throw new RowfenceError('ROWFENCE_INVALID_TENANT', {
          message: 'The X-Tenant-Id header must be one UUID',
        })
      }
      request.tenant = { tenantId: value.toLowerCase() }
      return
    }
    throw new DemoError('ROWFENCE_UNAUTHENTICATED')
  }
}

/** The context of an authenticated request; a route reached without the hook fails closed. */
export function tenantOf(request: FastifyRequest): TenantContext {
  if (!request.tenant) throw new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT')
  return request.tenant
}
