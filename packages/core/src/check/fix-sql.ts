/** Building blocks for the SQL a finding suggests. Identifiers go through `quoteIdentifier` only. */
import { qualifiedName, quoteIdentifier } from '../sql/identifier.ts'
import { policyAnalyzer } from './policy-analysis.ts'
import type { CatalogSnapshot, Relation } from './types.ts'

/** A SQL string literal (for suggested SQL text only; executed SQL binds values as parameters). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

export function tableName(relation: Pick<Relation, 'schema' | 'name'>): string {
  return qualifiedName(relation.schema, relation.name)
}

/**
 * The expression a suggested policy should compare the tenant column with: the schema's own context
 * function when its policies use one, else a fail-closed read of `rowfence.tenant_id`. Always wrapped
 * in a sub-select so PostgreSQL evaluates it once per query.
 */
export function contextExpression(snapshot: CatalogSnapshot, relation?: Relation): string {
  const fn = tenantContextFunction(snapshot)
  if (fn) return `(SELECT ${fn}())`
  const type = relation?.tenantColumn?.type ?? 'uuid'
  return `(SELECT NULLIF(current_setting('rowfence.tenant_id', true), '')::${type})`
}

const contextFunctions = new WeakMap<CatalogSnapshot, string | null>()

/** The schema's most used tenant context function, qualified and quoted, or null. */
function tenantContextFunction(snapshot: CatalogSnapshot): string | null {
  const known = contextFunctions.get(snapshot)
  if (known !== undefined) return known
  const analyzer = policyAnalyzer(snapshot)
  const counts = new Map<number, number>()
  for (const policy of snapshot.policies) {
    for (const expression of [policy.using, policy.withCheck]) {
      for (const read of analyzer.facts(policy.table, expression).reads) {
        if (read.functionOid !== null && analyzer.isTenantRead(read)) {
          counts.set(read.functionOid, (counts.get(read.functionOid) ?? 0) + 1)
        }
      }
    }
  }
  const best = [...counts].sort((a, b) => b[1] - a[1])[0]
  // No policy uses one yet: a zero-argument STABLE function that reads a tenant setting will do.
  const fn = best
    ? snapshot.functions.get(best[0])
    : [...analyzer.contextFunctions]
        .map(([oid, settings]) => ({ fn: snapshot.functions.get(oid)!, settings }))
        .find(
          ({ fn, settings }) =>
            fn.identityArguments === '' &&
            fn.volatility === 'stable' &&
            settings.some((setting) => /tenant/i.test(setting)),
        )?.fn
  const name = fn ? qualifiedName(fn.schema, fn.name) : null
  contextFunctions.set(snapshot, name)
  return name
}

/** A RESTRICTIVE policy that pins every command to the current tenant: the floor. */
export function floorPolicySql(snapshot: CatalogSnapshot, relation: Relation): string {
  const column = quoteIdentifier(snapshot.tenantColumn)
  const context = contextExpression(snapshot, relation)
  return (
    `CREATE POLICY ${quoteIdentifier(`${relation.name}_tenant_floor`)} ON ${tableName(relation)} ` +
    `AS RESTRICTIVE FOR ALL TO PUBLIC USING (${column} = ${context}) WITH CHECK (${column} = ${context});`
  )
}

/** The tenant predicate, for WITH CHECK / USING clauses in suggestions. */
export function tenantPredicate(snapshot: CatalogSnapshot, relation: Relation): string {
  return `${quoteIdentifier(snapshot.tenantColumn)} = ${contextExpression(snapshot, relation)}`
}
