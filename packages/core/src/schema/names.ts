import { createHash } from 'node:crypto'
import { RowfenceError } from '../errors.ts'

/** PostgreSQL keeps NAMEDATALEN - 1 = 63 bytes of an identifier and silently truncates the rest. */
export const MAX_IDENTIFIER_BYTES = 63

/** A name given by the schema author: refused (not truncated) when PostgreSQL would truncate it. */
export function assertIdentifier(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new RowfenceError('ROWFENCE_SCHEMA_INVALID', { message: `${what} must be a non-empty string` })
  }
  if (name.includes('\u0000')) {
    throw new RowfenceError('ROWFENCE_SCHEMA_INVALID', { message: `${what} cannot contain NUL` })
  }
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new RowfenceError('ROWFENCE_SCHEMA_INVALID', {
      message: `${what} ${JSON.stringify(name)} is longer than ${MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it`,
      details: { name },
    })
  }
}

/** Cuts a string to at most `bytes` UTF-8 bytes without splitting a character. */
function truncateBytes(text: string, bytes: number): string {
  let out = ''
  let used = 0
  for (const char of text) {
    const size = Buffer.byteLength(char)
    if (used + size > bytes) break
    out += char
    used += size
  }
  return out
}

/**
 * A generated constraint or index name: the parts joined with `_` (PostgreSQL's own convention, e.g.
 * `items_title_key`). Too long for PostgreSQL, it is cut and suffixed with a hash of the full name, so
 * two long names never collide and the same input always gives the same name.
 */
export function generatedName(...parts: string[]): string {
  const full = parts.join('_')
  if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8)
  return `${truncateBytes(full, MAX_IDENTIFIER_BYTES - hash.length - 1)}_${hash}`
}
