/**
 * The one place identifiers are quoted. Doubles embedded double quotes and wraps the name, so any
 * string (mixed case, reserved words, `x"; drop table t --`) becomes exactly one identifier.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw new TypeError('An SQL identifier cannot be empty')
  if (name.includes('\u0000')) throw new TypeError('An SQL identifier cannot contain NUL')
  return `"${name.replaceAll('"', '""')}"`
}

/** Quotes a possibly schema-qualified name given as parts: `qualifiedName('rowfence', 'items')`. */
export function qualifiedName(...parts: string[]): string {
  return parts.map(quoteIdentifier).join('.')
}
