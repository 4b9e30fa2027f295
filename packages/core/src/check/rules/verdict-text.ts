import type { Verdict } from '../analysis/policy-analysis.ts'

/** Why a policy expression is not a tenant guard, as a clause of a one-line message. */
export function verdictReason(verdict: Verdict, column: string): string {
  switch (verdict.kind) {
    case 'always':
      return 'is true for every row'
    case 'fails-open':
      return verdict.when === 'unset'
        ? 'is true for every row when the tenant context is not set (NULL)'
        : "is true for every row when the tenant context reads '' (as it does once set earlier on the connection)"
    case 'bypass':
      return `lets ${verdict.settings.length > 0 ? verdict.settings.join(', ') : 'a setting'}, which the app role can change, open every tenant's rows`
    case 'not-scoped':
      return `does not pin ${column} to the tenant context`
    case 'guard':
      return `pins ${column} to the tenant context`
  }
}

/** Drops one pair of parentheses around the whole expression, as pg_get_expr adds them. */
function unwrap(sql: string): string {
  if (!sql.startsWith('(') || !sql.endsWith(')')) return sql
  let depth = 0
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === '(') depth++
    if (sql[i] === ')') depth--
    if (depth === 0 && i < sql.length - 1) return sql // the first ( closes before the end
  }
  return sql.slice(1, -1)
}

/** Keeps long expressions readable inside a one-line message. */
export function shortSql(sql: string, limit = 120): string {
  const flat = unwrap(sql.replace(/\s+/g, ' ').trim())
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat
}
