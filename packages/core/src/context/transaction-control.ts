/**
 * Recognises the transaction-control statements an ORM sends (`BEGIN`, `START TRANSACTION ...`, `COMMIT`,
 * `END`, `ROLLBACK`, `ABORT`), so that inside a tenant transaction they become savepoints instead of ending
 * the tenant's transaction early. Savepoint statements and everything else pass through untouched.
 */
export type TransactionControl =
  | { readonly kind: 'begin'; readonly modes: string }
  | { readonly kind: 'commit' }
  | { readonly kind: 'rollback' }
  | { readonly kind: 'set-transaction'; readonly modes: string }
  /** Two-phase commit and friends: never allowed through a tenant context. */
  | { readonly kind: 'refused' }

const leadingComments = /^(\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/
const controlPattern =
  /^(begin|start\s+transaction|commit|end|rollback|abort|set\s+transaction|prepare\s+transaction)\b\s*(?:(?:work|transaction)\b)?\s*([\s\S]*?)\s*;?\s*$/i

export function classifyTransactionControl(text: string): TransactionControl | undefined {
  // Cheap pre-check: ordinary queries start with SELECT/INSERT/WITH/... and return at once.
  const first = text.charCodeAt(text.search(/\S/))
  const letter = first | 0x20
  if (
    letter !== 0x62 /* b */ &&
    letter !== 0x73 /* s */ &&
    letter !== 0x63 /* c */ &&
    letter !== 0x65 /* e */ &&
    letter !== 0x72 /* r */ &&
    letter !== 0x61 /* a */ &&
    letter !== 0x70 /* p */ &&
    first !== 0x2d /* - */ &&
    first !== 0x2f /* / */
  ) {
    return undefined
  }
  const statement = text.replace(leadingComments, '')
  const match = controlPattern.exec(statement)
  if (!match) return undefined
  const verb = match[1]!.toLowerCase().replace(/\s+/g, ' ')
  const rest = match[2] ?? ''
  if (verb === 'prepare transaction') return { kind: 'refused' }
  if (verb === 'begin' || verb === 'start transaction') return { kind: 'begin', modes: rest }
  if (verb === 'set transaction') return { kind: 'set-transaction', modes: rest }
  if (/^(to\b|prepared\b)/i.test(rest)) {
    // ROLLBACK TO SAVEPOINT passes through; COMMIT/ROLLBACK PREPARED is refused.
    return /^to\b/i.test(rest) && verb === 'rollback' ? undefined : { kind: 'refused' }
  }
  if (rest !== '' && !/^and\s+(no\s+)?chain$/i.test(rest)) return undefined
  if (/chain$/i.test(rest) && !/no\s+chain$/i.test(rest)) return { kind: 'refused' }
  return verb === 'commit' || verb === 'end' ? { kind: 'commit' } : { kind: 'rollback' }
}
