import { createFinding, tenantTables } from './finding.ts'
import { floorPolicySql, tableName } from './fix-sql.ts'
import type { Rule } from '../types.ts'

export const rlsNotEnabled: Rule = {
  id: 'rls-not-enabled',
  severity: 'error',
  summary: 'A tenant table has row-level security off: queries see every tenant',
  check: ({ snapshot, analysis }) =>
    tenantTables(snapshot)
      .filter((table) => !table.rlsEnabled)
      .map((table) => {
        const hasPolicies = analysis.policiesOf(table).length > 0
        return createFinding(rlsNotEnabled, {
          table: table.displayName,
          message: `row-level security is not enabled, so ${snapshot.app.name} reads and writes every tenant's rows${
            hasPolicies ? ' (its policies exist but are ignored)' : ''
          }`,
          fix: [
            `ALTER TABLE ${tableName(table)} ENABLE ROW LEVEL SECURITY;`,
            `ALTER TABLE ${tableName(table)} FORCE ROW LEVEL SECURITY;`,
            ...(hasPolicies ? [] : [floorPolicySql(analysis, table)]),
          ].join('\n'),
        })
      }),
}
