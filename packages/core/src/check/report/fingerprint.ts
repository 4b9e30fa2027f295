import { createHash } from 'node:crypto'

/** Rule id + table + object: what a finding is about, never how it is worded or any OID. */
export function fingerprintOf(ruleId: string, table: string | null, object: string | null): string {
  return createHash('sha256')
    .update(`${ruleId}\u0000${table ?? ''}\u0000${object ?? ''}`)
    .digest('hex')
    .slice(0, 20)
}
