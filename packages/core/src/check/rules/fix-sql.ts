/**
 * Building blocks for the SQL a finding suggests. Identifiers go through `quoteIdentifier`, literals
 * through `quoteLiteral`. The tenant predicate is the app's own (see `PolicyAnalyzer.tenantPin`): a fix
 * never invents a setting the app does not set.
 */
import { TENANT_SETTING } from '../../context/tenant-context.ts'
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import { quoteLiteral } from '../../sql/literal.ts'
import type { PolicyAnalyzer } from '../analysis/policy-analysis.ts'
import type { Relation } from '../types.ts'

/** A SQL string literal for suggested SQL text (executed SQL binds values as parameters). */
export function sqlString(value: string): string {
  return quoteLiteral(value)
}

export function tableName(relation: Pick<Relation, 'schema' | 'name'>): string {
  return qualifiedName(relation.schema, relation.name)
}

/** The tenant column of a tenant table, quoted. */
export function tenantColumnSql(relation: Relation): string {
  return quoteIdentifier(relation.tenantColumn?.name ?? '')
}

/**
 * The app's own tenant predicate for this table (`"tenant_id" = (SELECT app.current_tenant())`, an
 * inline JWT claim, a membership helper...), or null when none can be inferred from the schema.
 */
export function tenantPredicate(analysis: PolicyAnalyzer, relation: Relation): string | null {
  const column = relation.tenantColumn?.name
  if (column === undefined) return null
  return analysis.tenantPin(column)?.predicate ?? null
}

/** What a fix says instead of SQL when the app's tenant expression cannot be inferred. */
export function noPredicateNote(relation: Relation): string {
  return (
    `-- no tenant expression could be inferred from this schema's policies, so none is invented ` +
    `(rowfence's own would read ${quoteLiteral(TENANT_SETTING)}, which your app may never set):\n` +
    `-- add a RESTRICTIVE policy comparing ${tenantColumnSql(relation)} with how your app identifies the tenant`
  )
}

/** A RESTRICTIVE policy that pins every command to the current tenant: the floor. */
export function floorPolicySql(analysis: PolicyAnalyzer, relation: Relation): string {
  const predicate = tenantPredicate(analysis, relation)
  if (predicate === null) return noPredicateNote(relation)
  return (
    `CREATE POLICY ${quoteIdentifier(`${relation.name}_tenant_floor`)} ON ${tableName(relation)} ` +
    `AS RESTRICTIVE FOR ALL TO PUBLIC USING (${predicate}) WITH CHECK (${predicate});`
  )
}
