import { walkNodes } from '../analysis/node-tree.ts'
import type { Finding, Policy, Rule } from '../types.ts'
import { createFinding } from './finding.ts'
import { tableName } from './fix-sql.ts'
import { quoteIdentifier } from '../../sql/identifier.ts'

function hasSubquery(policy: Policy): boolean {
  return [policy.using, policy.withCheck].some(
    (expression) =>
      expression?.tree && walkNodes(expression.tree).some(({ node }) => node.type === 'SUBLINK'),
  )
}

/**
 * Citus only: a policy with a sub-select (including the `(SELECT current_tenant_id())` form that makes
 * plain PostgreSQL evaluate the context once per query) cannot be created on a distributed table, so
 * the table cannot be distributed while the policy exists. Citus policies call the context function
 * directly; Citus still evaluates it once per shard query.
 */
export const citusPolicySubquery: Rule = {
  id: 'citus-policy-subquery',
  severity: 'error',
  summary: 'Citus: a policy contains a subquery (Citus cannot distribute or propagate it)',
  check: ({ snapshot }) => {
    if (!snapshot.citus) return []
    const findings: Finding[] = []
    for (const policy of snapshot.policies) {
      if (!hasSubquery(policy)) continue
      findings.push(
        createFinding(citusPolicySubquery, {
          table: policy.table.displayName,
          object: policy.name,
          message:
            `policy ${policy.name} on ${policy.table.displayName} contains a subquery: Citus refuses it on a ` +
            `distributed table (distributing the table fails while it exists)`,
          fix:
            `-- recreate the policy without sub-selects, e.g. "tenant_id" = rowfence.current_tenant_id()\n` +
            `DROP POLICY ${quoteIdentifier(policy.name)} ON ${tableName(policy.table)};`,
        }),
      )
    }
    return findings
  },
}
