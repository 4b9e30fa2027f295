import { quoteIdentifier } from '../../sql/identifier.ts'
import type { Finding, Rule } from '../types.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'

/**
 * Citus only: a unique key must contain the distribution column, or Citus cannot enforce it and
 * refuses to distribute the table. For a tenant table that is not distributed yet, the column it will
 * be distributed by is its tenant column. Unlike unique-without-tenant this holds for surrogate keys
 * too: Citus refuses them all the same.
 */
export const citusUniqueWithoutDistributionColumn: Rule = {
  id: 'citus-unique-without-distribution-column',
  severity: 'error',
  summary: 'Citus: a unique key of a tenant table leaves out the distribution column',
  check: ({ snapshot }) => {
    const citus = snapshot.citus
    if (!citus) return []
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      if (table.shared) continue
      const facts = citus.tables.get(table.oid)
      if (facts?.kind === 'reference') continue
      const column =
        facts?.kind === 'distributed' && facts.distributionColumn
          ? facts.distributionColumn
          : tenantColumnOf(table)
      for (const index of snapshot.indexes) {
        if (index.table !== table.oid || !index.unique || !index.valid) continue
        if (index.keyColumns.includes(column)) continue
        const name = index.constraint ?? index.name
        findings.push(
          createFinding(citusUniqueWithoutDistributionColumn, {
            table: table.displayName,
            object: name,
            message:
              `${index.primary ? 'primary key' : 'unique key'} ${name} (${index.keyColumns.map((key) => key ?? '(expression)').join(', ')}) ` +
              `does not include the distribution column ${column}: Citus cannot distribute ${table.displayName}`,
            fix:
              `-- make the key (${column}, ...) or drop it; then distribute:\n` +
              `ALTER TABLE ${tableName(table)} DROP CONSTRAINT ${quoteIdentifier(name)};`,
          }),
        )
      }
    }
    return findings
  },
}
