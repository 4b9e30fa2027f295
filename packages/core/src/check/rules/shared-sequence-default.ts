import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { Finding, Rule } from '../types.ts'

export const sharedSequenceDefault: Rule = {
  id: 'shared-sequence-default',
  severity: 'info',
  summary: "A tenant table's default draws ids from a sequence shared by all tenants",
  check: ({ snapshot }) => {
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      for (const entry of snapshot.sequenceDefaults) {
        if (entry.table !== table.oid) continue
        const column = quoteIdentifier(entry.column)
        findings.push(
          createFinding(sharedSequenceDefault, {
            table: table.displayName,
            object: entry.column,
            message:
              `${entry.column} ${entry.identity ? 'is an identity column of' : 'defaults to nextval of'} ${entry.sequence}, ` +
              `shared by all tenants: consecutive ids reveal how many rows other tenants create`,
            fix: [
              `-- prefer random keys; for example (rewrites the keys, update referencing columns too):`,
              `ALTER TABLE ${tableName(table)} ALTER COLUMN ${column} ${entry.identity ? 'DROP IDENTITY' : 'DROP DEFAULT'};`,
              `ALTER TABLE ${tableName(table)} ALTER COLUMN ${column} TYPE uuid USING gen_random_uuid(), ALTER COLUMN ${column} SET DEFAULT gen_random_uuid();`,
            ].join('\n'),
          }),
        )
      }
    }
    return findings
  },
}
