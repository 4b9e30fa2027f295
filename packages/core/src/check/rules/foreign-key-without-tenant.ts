import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { Finding, Rule } from '../types.ts'

export const foreignKeyWithoutTenant: Rule = {
  id: 'foreign-key-without-tenant',
  severity: 'error',
  summary: 'A foreign key between tenant tables does not include the tenant column on both sides',
  check: ({ snapshot }) => {
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      const column = tenantColumnOf(table)
      const attnum = table.tenantColumn!.attnum
      for (const key of snapshot.foreignKeys) {
        if (key.table !== table.oid || key.parentTenantAttnum === null || key.parentShared) continue
        const paired = key.attnums.some(
          (child, i) => child === attnum && key.parentAttnums[i] === key.parentTenantAttnum,
        )
        if (paired) continue
        const quote = (names: readonly string[]): string => names.map(quoteIdentifier).join(', ')
        const childColumns = [column, ...key.columns.filter((name) => name !== column)]
        const parentColumns = [column, ...key.parentColumns.filter((name) => name !== column)]
        findings.push(
          createFinding(foreignKeyWithoutTenant, {
            table: table.displayName,
            object: key.name,
            message:
              `foreign key ${key.name} (${key.columns.join(', ')}) -> ${key.parentDisplayName} (${key.parentColumns.join(', ')}) ` +
              `does not pair ${column} with ${column}: a row can reference another tenant's row`,
            fix:
              `ALTER TABLE ${tableName(table)} DROP CONSTRAINT ${quoteIdentifier(key.name)}, ADD CONSTRAINT ${quoteIdentifier(key.name)} ` +
              `FOREIGN KEY (${quote(childColumns)}) REFERENCES ${qualifiedName(key.parentSchema, key.parentName)} (${quote(parentColumns)});\n` +
              `-- needs a UNIQUE (${quote(parentColumns)}) on ${key.parentDisplayName}`,
          }),
        )
      }
    }
    return findings
  },
}
