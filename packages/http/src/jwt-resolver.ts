import type { KeyObject } from 'node:crypto'
import type { TenantContext } from '@rowfence/core'
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose'
import { RowfenceHttpError } from './errors.ts'
import { headerOf, type HeaderSource } from './headers.ts'

export interface JwtResolverOptions {
  /** A shared secret, for the HS* algorithms. Exactly one of secret, key and jwks. */
  readonly secret?: string | Uint8Array | undefined
  /** A public key (RS*, PS*, ES*, EdDSA). */
  readonly key?: CryptoKey | KeyObject | JWK | undefined
  /** A JWKS: its URL (fetched and cached by jose) or a key resolver such as createLocalJWKSet(). */
  readonly jwks?: URL | JWTVerifyGetKey | undefined
  /**
   * The one algorithm tokens must be signed with, e.g. `['ES256']`. Pinned: a token that names another
   * (`none`, or HS256 signed with a public key as secret) is refused.
   */
  readonly algorithms: readonly [string]
  /** Required: a token for another service is refused. */
  readonly audience: string | readonly string[]
  /** Required: a token from another issuer is refused. */
  readonly issuer: string | readonly string[]
  /** Allowed clock skew, in seconds or a jose time span ('30s'). Default 0. */
  readonly clockTolerance?: string | number | undefined
  /** The request header that carries `Bearer <token>`. Default `authorization`. */
  readonly header?: string | undefined
  /**
   * The context from the verified claims. Default: `tenantId` from the `tenant_id` claim, `userId` from
   * `sub`. Throw (or return undefined) to refuse the token with a 401.
   */
  readonly toContext?: ((payload: JWTPayload) => TenantContext | undefined) | undefined
}

const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i

function defaultContext(payload: JWTPayload): TenantContext | undefined {
  const tenantId = payload['tenant_id']
  if (typeof tenantId !== 'string') return undefined
  return { tenantId, userId: typeof payload.sub === 'string' ? payload.sub : undefined }
}

function required(value: string | readonly string[] | undefined, name: string): string | string[] {
  const list = typeof value === 'string' ? [value] : [...(value ?? [])]
  if (list.length === 0 || list.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new TypeError(`jwtResolver: ${name} is required`)
  }
  return typeof value === 'string' ? value : list
}

/**
 * A resolver that verifies `Authorization: Bearer <jwt>` with jose: signature, the one pinned algorithm,
 * audience, issuer, expiry and not-before. A missing, malformed, expired or otherwise invalid token is a
 * 401 (ROWFENCE_UNAUTHENTICATED) whose message never echoes the token.
 */
export function jwtResolver(options: JwtResolverOptions): (request: HeaderSource) => Promise<TenantContext> {
  const sources = [options.secret, options.key, options.jwks].filter((source) => source !== undefined)
  if (sources.length !== 1) throw new TypeError('jwtResolver: give exactly one of secret, key and jwks')
  const algorithms = [...(options.algorithms ?? [])]
  if (algorithms.length !== 1 || typeof algorithms[0] !== 'string') {
    throw new TypeError('jwtResolver: algorithms must name exactly one algorithm')
  }
  if (algorithms[0].toLowerCase() === 'none') throw new TypeError('jwtResolver: algorithm "none" is refused')
  const audience = required(options.audience, 'audience')
  const issuer = required(options.issuer, 'issuer')
  const header = options.header ?? 'authorization'
  const toContext = options.toContext ?? defaultContext
  const verifyOptions = { algorithms, audience, issuer, clockTolerance: options.clockTolerance }

  let verify: (token: string) => Promise<JWTPayload>
  if (options.jwks !== undefined) {
    const getKey = options.jwks instanceof URL ? createRemoteJWKSet(options.jwks) : options.jwks
    verify = async (token) => (await jwtVerify(token, getKey, verifyOptions)).payload
  } else {
    const key =
      typeof options.secret === 'string'
        ? new TextEncoder().encode(options.secret)
        : (options.secret ?? options.key!)
    verify = async (token) => (await jwtVerify(token, key, verifyOptions)).payload
  }

  return async function resolveJwtTenant(request: HeaderSource): Promise<TenantContext> {
    const token = bearer.exec(headerOf(request, header) ?? '')?.[1]
    if (!token) throw new RowfenceHttpError('ROWFENCE_UNAUTHENTICATED')
    let payload: JWTPayload
    try {
      payload = await verify(token)
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) {
        throw new RowfenceHttpError('ROWFENCE_UNAUTHENTICATED', {
          message:
            error instanceof joseErrors.JWTExpired ? 'The token has expired' : 'The token is not valid',
          cause: error,
        })
      }
      throw error
    }
    let context: TenantContext | undefined
    try {
      context = toContext(payload)
    } catch (error) {
      throw new RowfenceHttpError('ROWFENCE_UNAUTHENTICATED', {
        message: 'The token is not valid',
        cause: error,
      })
    }
    if (!context)
      throw new RowfenceHttpError('ROWFENCE_UNAUTHENTICATED', { message: 'The token names no tenant' })
    return context
  }
}
