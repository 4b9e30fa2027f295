/**
 * Quotes a string as an SQL literal for the few places where a bind parameter cannot be used (DDL:
 * column defaults, `current_setting()` names in function bodies, Citus distribution calls). Doubles
 * single quotes; a string with a backslash becomes an `E'...'` literal with doubled backslashes, so the
 * result is one literal whatever `standard_conforming_strings` says (PostgreSQL's `quote_literal` rule).
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new TypeError('An SQL literal cannot contain NUL')
  const body = value.replaceAll("'", "''")
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`
}
