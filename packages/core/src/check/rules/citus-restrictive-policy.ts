import { quoteIdentifier } from '../../sql/identifier.ts'
import type { Finding, Rule } from '../types.ts'
import { createFinding } from './finding.ts'
import { tableName } from './fix-sql.ts'

/**
 * Citus only: Citus 13 creates the policies of a distributed or reference table on its shards as
 * PERMISSIVE, whatever the coordinator says (measured with Citus 13.2: `pg_policies` on a worker shows
 * the tenant floor PERMISSIVE). A RESTRICTIVE floor `FOR ALL USING (tenant)` then widens every feature
 * policy on the shards: "only the author may update" becomes "anyone in the tenant may". On Citus every
 * permissive policy must carry the tenant check itself (the generator's Citus flavour does).
 */
export const citusRestrictivePolicy: Rule = {
  id: 'citus-restrictive-policy',
  severity: 'error',
  summary: 'Citus: a RESTRICTIVE policy, which Citus creates on the shards as PERMISSIVE',
  check: ({ snapshot }) => {
    const citus = snapshot.citus
    if (!citus) return []
    const findings: Finding[] = []
    for (const policy of snapshot.policies) {
      if (policy.permissive) continue
      const onShards = citus.tables.has(policy.table.oid)
      findings.push(
        createFinding(citusRestrictivePolicy, {
          table: policy.table.displayName,
          object: policy.name,
          message:
            `policy ${policy.name} on ${policy.table.displayName} is RESTRICTIVE: Citus ` +
            `${onShards ? 'has created' : 'creates'} it on the shards as PERMISSIVE, where it widens the ` +
            `table's other policies instead of narrowing them`,
          fix:
            `-- put its condition into every permissive policy of the table, then:\n` +
            `DROP POLICY ${quoteIdentifier(policy.name)} ON ${tableName(policy.table)};`,
        }),
      )
    }
    return findings
  },
}
