import { createHash, createHmac, randomBytes } from 'node:crypto'
import { RowfenceError } from '../errors.ts'

/**
 * The signed tenant context: one setting (`rowfence.context` by default) whose value carries tenant,
 * user, claims and an expiry with an HMAC-SHA256 over them. The generated context functions verify it
 * inside PostgreSQL with a key the app role cannot read (see schema/context-sql.ts), so SQL that sets
 * the plain settings, or a forged, altered or expired value, yields NULL: no rows.
 *
 * Format: `v1.<key id>.<payload as hex>.<hmac as hex>`, the HMAC taken over `v1.<key id>.<payload hex>`
 * with the key named by `<key id>`. The payload is JSON `{ "t": tenant, "u": user, "c": claims, "exp":
 * unix seconds }`. Hex keeps the value plain ASCII, safe as a bind parameter and as a SET LOCAL literal.
 */

export const CONTEXT_SETTING = 'rowfence.context'
export const SIGNED_CONTEXT_VERSION = 'v1'

/** A signing key as the app holds it (from its environment): an id and at least 32 random bytes. */
export interface ContextSigningKey {
  /** Letters, digits, `_` and `-`, up to 32: names the key in the database's key table. */
  readonly id: string
  /** The secret: bytes, or text in hex or base64 (at least 32 bytes once decoded). */
  readonly secret: string | Uint8Array
}

export interface ContextSigning {
  /** The key new values are signed with. */
  readonly key: ContextSigningKey
  /** How long a signed value stays valid (seconds, default 300): bounds the replay of a leaked value. */
  readonly ttlSeconds?: number | undefined
  /**
   * For moving an existing schema from the plain to the signed context without downtime: also set the
   * plain settings (tenant, user, claims) next to the signed value, in the same statement. A schema still
   * on the plain context reads them; once its signed migration is applied, it ignores them and trusts
   * only the signed value. Deploy with it before the migration, remove it after (docs/signed-context.md).
   */
  readonly sendPlain?: boolean | undefined
}

const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/
const BLOCK = 64

const invalidKey = (message: string): RowfenceError =>
  new RowfenceError('ROWFENCE_CONFIG_INVALID', { message })

/** The secret's bytes; refuses short keys and unknown encodings. */
export function keyBytes(key: ContextSigningKey): Buffer {
  if (typeof key?.id !== 'string' || !keyIdPattern.test(key.id)) {
    throw invalidKey('A context signing key id is 1-32 letters, digits, _ or -')
  }
  let bytes: Buffer
  if (key.secret instanceof Uint8Array) bytes = Buffer.from(key.secret)
  else if (typeof key.secret === 'string' && /^([0-9a-f]{2})+$/i.test(key.secret))
    bytes = Buffer.from(key.secret, 'hex')
  else if (typeof key.secret === 'string' && /^[A-Za-z0-9+/_-]+=*$/.test(key.secret))
    bytes = Buffer.from(key.secret, 'base64')
  else throw invalidKey('A context signing key secret is bytes, hex or base64')
  if (bytes.length < 32) throw invalidKey('A context signing key needs at least 32 bytes (256 bits)')
  return bytes
}

/** `ROWFENCE_CONTEXT_KEY=<id>:<secret>` (the form the CLI prints) as a key. */
export function parseContextKey(text: string | undefined): ContextSigningKey {
  if (typeof text !== 'string' || text === '') {
    throw invalidKey(
      'No context key: set ROWFENCE_CONTEXT_KEY=<id>:<secret> (rowfence keys --rotate prints one)',
    )
  }
  const colon = text.indexOf(':')
  if (colon <= 0) throw invalidKey('A context key is written <id>:<secret in hex or base64>')
  const key = { id: text.slice(0, colon), secret: text.slice(colon + 1) }
  keyBytes(key)
  return key
}

/**
 * A new signing key: 32 random bytes (base64url) and an id, by default `k` and the UTC time to the second
 * (`k20261203171500`), which sorts by age in `rowfence keys`. `prefix` replaces the `k` (e.g. `dev-`);
 * `id` replaces the whole id. The id is checked like any key's.
 */
export function generateContextKey(
  options: { readonly id?: string; readonly prefix?: string } = {},
): ContextSigningKey {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')
  const key = {
    id: options.id ?? `${options.prefix ?? 'k'}${stamp}`,
    secret: randomBytes(32).toString('base64url'),
  }
  keyBytes(key)
  return key
}

/** The `<id>:<secret>` text that parseContextKey() reads (the value of ROWFENCE_CONTEXT_KEY). */
export function formatContextKey(key: ContextSigningKey): string {
  const secret = keyBytes(key)
  return `${key.id}:${typeof key.secret === 'string' ? key.secret : secret.toString('base64url')}`
}

/**
 * The HMAC inner and outer pads (K xor 0x36.., K xor 0x5c..), what the database's key table stores: with
 * them `sha256(opad || sha256(ipad || message))` is HMAC-SHA256, computed with built-in functions only.
 */
export function contextKeyPads(key: ContextSigningKey): { ipad: Buffer; opad: Buffer } {
  let bytes = keyBytes(key)
  if (bytes.length > BLOCK) bytes = createHash('sha256').update(bytes).digest()
  const padded = Buffer.alloc(BLOCK)
  bytes.copy(padded)
  return {
    ipad: Buffer.from(padded.map((byte) => byte ^ 0x36)),
    opad: Buffer.from(padded.map((byte) => byte ^ 0x5c)),
  }
}

export interface ContextPayload {
  readonly t: string
  readonly u: string
  readonly c: Readonly<Record<string, string>>
  readonly exp: number
}

/** keyBytes() once per key object: signing runs on every unit of work. */
const secrets = new WeakMap<ContextSigningKey, Buffer>()

function secretOf(key: ContextSigningKey): Buffer {
  let secret = secrets.get(key)
  if (!secret) {
    secret = keyBytes(key)
    secrets.set(key, secret)
  }
  return secret
}

/** Signs a payload: the value of the context setting. */
export function signContextPayload(payload: ContextPayload, key: ContextSigningKey): string {
  const secret = secretOf(key)
  const body = `${SIGNED_CONTEXT_VERSION}.${key.id}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('hex')}`
  return `${body}.${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`
}

function ttlOf(signing: ContextSigning): number {
  const ttl = signing.ttlSeconds ?? 300
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 86_400) {
    throw invalidKey('ttlSeconds must be a whole number of seconds between 1 and 86400')
  }
  return ttl
}

/** The signed value for a validated context, valid for `ttlSeconds` from now. */
export function signContext(
  context: { readonly tenantId: string; readonly userId: string; readonly claims: Record<string, string> },
  signing: ContextSigning,
  nowMs: number = Date.now(),
): string {
  return signContextPayload(
    {
      t: context.tenantId,
      u: context.userId,
      c: context.claims,
      exp: Math.floor(nowMs / 1000) + ttlOf(signing),
    },
    signing.key,
  )
}

/** Signed values per signing config and context (tenant, user, claims), reused while fresh. */
const signedValues = new WeakMap<ContextSigning, Map<string, { value: string; renewAt: number }>>()

/** At most this many contexts per signing config keep a value; the oldest entry goes first. */
export const SIGNED_VALUE_CACHE_SIZE = 10_000

/**
 * signContext() for the hot path: the same context gets the same value back while at least half of its
 * validity is left, so a request signs (one HMAC, one JSON and hex encoding: ~5 µs) only when its
 * context has not been seen for half a TTL. Reuse changes nothing for the database: every value is
 * valid until its own expiry anyway, and a value handed out has more than ttl/2 seconds left.
 * `identity` is the context in canonical form (tenant, user, claims).
 */
export function signContextCached(
  context: { readonly tenantId: string; readonly userId: string; readonly claims: Record<string, string> },
  identity: string,
  signing: ContextSigning,
  nowMs: number = Date.now(),
): string {
  let values = signedValues.get(signing)
  if (!values) {
    values = new Map()
    signedValues.set(signing, values)
  }
  const cached = values.get(identity)
  if (cached && nowMs < cached.renewAt) return cached.value
  const value = signContext(context, signing, nowMs)
  if (cached) values.delete(identity)
  else if (values.size >= SIGNED_VALUE_CACHE_SIZE) values.delete(values.keys().next().value!)
  values.set(identity, { value, renewAt: nowMs + (ttlOf(signing) * 1000) / 2 })
  return value
}
