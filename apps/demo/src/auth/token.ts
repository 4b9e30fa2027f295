import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto'
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose'
import { isUuid, RowfenceError } from '@rowfence/core'
import { DemoError } from '../errors.ts'

/** The one algorithm tokens are signed and verified with; verification refuses every other. */
export const TOKEN_ALGORITHM = 'HS256'
export const TOKEN_ISSUER = 'rowfence'
/** API tokens (Authorization: Bearer); the default audience. */
export const TOKEN_AUDIENCE = 'rowfence-api'
/** Web sessions (the session cookie of the pages): a cookie is never accepted as an API token, nor the reverse. */
export const SESSION_AUDIENCE = 'rowfence-web'
/** Platform operators' sessions (admin pages). */
export const OPERATOR_AUDIENCE = 'rowfence-admin'
export type TenantAudience = typeof TOKEN_AUDIENCE | typeof SESSION_AUDIENCE
const MIN_SECRET_BYTES = 32

export interface TokenClaims {
  readonly tenantId: string
  /** Who the token was issued to (a user id, or a label such as `cli` for local tokens). */
  readonly subject: string
  readonly userId?: string | undefined
}

/** Verified claims: the token's id (jti) and expiry too, which revocation needs. */
export interface VerifiedTokenClaims extends TokenClaims {
  readonly tokenId: string
  readonly expiresAt: Date
}

export interface SignTokenOptions extends TokenClaims {
  readonly secret: string
  /** A jose time span such as `1h` or `7d`. */
  readonly expiresIn?: string | undefined
  readonly audience?: TenantAudience | undefined
}

/**
 * The HMAC key, imported once: build it at startup and pass it to verifyToken (jose would otherwise import
 * raw key bytes again on every verification).
 */
export function secretKey(secret: string): KeyObject {
  const key = new TextEncoder().encode(secret)
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new RowfenceError('ROWFENCE_CONFIG_INVALID', {
      message: `The JWT secret must be at least ${MIN_SECRET_BYTES} bytes long`,
    })
  }
  return createSecretKey(key)
}

export async function signToken(options: SignTokenOptions): Promise<string> {
  if (!isUuid(options.tenantId)) throw new RowfenceError('ROWFENCE_INVALID_TENANT')
  if (options.userId !== undefined && !isUuid(options.userId))
    throw new RowfenceError('ROWFENCE_INVALID_USER')
  return new SignJWT({
    tenant_id: options.tenantId.toLowerCase(),
    ...(options.userId ? { user_id: options.userId } : {}),
  })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(options.audience ?? TOKEN_AUDIENCE)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(secretKey(options.secret))
}

const unauthenticated = (message: string, cause?: unknown): DemoError =>
  new DemoError('ROWFENCE_UNAUTHENTICATED', { message, cause })

/** Verifies signature, algorithm, issuer, audience and expiry; any failure is ROWFENCE_UNAUTHENTICATED. */
async function verifyClaims(token: string, key: KeyObject, audience: string): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [TOKEN_ALGORITHM],
      issuer: TOKEN_ISSUER,
      audience,
      requiredClaims: ['exp', 'sub', 'jti'],
    })
    if (!isUuid(payload.jti)) throw unauthenticated('The token carries no valid token id')
    return payload
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The token has expired', error)
    throw unauthenticated('The token is not valid', error)
  }
}

export async function verifyToken(
  token: string,
  key: KeyObject,
  audience: TenantAudience = TOKEN_AUDIENCE,
): Promise<VerifiedTokenClaims> {
  const payload = await verifyClaims(token, key, audience)
  const tenantId = payload['tenant_id']
  const userId = payload['user_id']
  if (!isUuid(tenantId)) throw unauthenticated('The token carries no valid tenant id')
  if (userId !== undefined && !isUuid(userId)) throw unauthenticated('The token carries an invalid user id')
  return {
    tenantId: tenantId.toLowerCase(),
    subject: payload.sub ?? '',
    userId,
    tokenId: payload.jti!,
    expiresAt: new Date(payload.exp! * 1000),
  }
}

export interface OperatorClaims {
  readonly operatorId: string
  readonly name: string
}

export async function signOperatorSession(
  options: OperatorClaims & { readonly secret: string; readonly expiresIn?: string },
): Promise<string> {
  return new SignJWT({ name: options.name })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
    .setSubject(options.operatorId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(OPERATOR_AUDIENCE)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(options.expiresIn ?? '2h')
    .sign(secretKey(options.secret))
}

export async function verifyOperatorSession(
  token: string,
  key: KeyObject,
): Promise<OperatorClaims & { readonly tokenId: string; readonly expiresAt: Date }> {
  const payload = await verifyClaims(token, key, OPERATOR_AUDIENCE)
  const name = payload['name']
  if (!isUuid(payload.sub) || typeof name !== 'string') throw unauthenticated('The session is not valid')
  return { operatorId: payload.sub, name, tokenId: payload.jti!, expiresAt: new Date(payload.exp! * 1000) }
}
