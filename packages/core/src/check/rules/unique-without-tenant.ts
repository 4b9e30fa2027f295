import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { sqlString, tableName } from './fix-sql.ts'
import { SHARED_MARKER } from '../catalog/introspect.ts'
import type { Finding, Rule } from '../types.ts'

export const uniqueWithoutTenant: Rule = {
  id: 'unique-without-tenant',
  severity: 'error',
  summary: 'A primary key or unique constraint/index on a tenant table leaves out the tenant column',
  check: ({ snapshot, analysis }) => {
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      const column = tenantColumnOf(table)
      if (table.shared) continue
      const attnum = table.tenantColumn!.attnum
      for (const index of snapshot.indexes) {
        if (index.table !== table.oid || !index.unique || !index.valid) continue
        if (index.keyAttnums.includes(attnum)) continue
        const columns = index.keyColumns.map((name) => name ?? '(expression)')
        const kind = index.primary ? 'primary key' : index.constraint ? 'unique constraint' : 'unique index'
        const name = index.constraint ?? index.name
        const newColumns = [column, ...columns].map(quoteIdentifier)
        const fix = index.constraint
          ? `ALTER TABLE ${tableName(table)} DROP CONSTRAINT ${quoteIdentifier(index.constraint)}, ` +
            `ADD CONSTRAINT ${quoteIdentifier(index.constraint)} ${index.primary ? 'PRIMARY KEY' : 'UNIQUE'} (${newColumns.join(', ')});\n` +
            '-- foreign keys that reference it must be recreated with the tenant column too'
          : `DROP INDEX ${qualifiedName(table.schema, index.name)};\n` +
            `${index.definition.replace(/ USING (\w+) \(/, (using) => `${using}${quoteIdentifier(column)}, `)};`
        findings.push(
          createFinding(uniqueWithoutTenant, {
            table: table.displayName,
            object: name,
            message:
              `${kind} ${name} (${columns.join(', ')}) does not include ${column}: a duplicate from another tenant ` +
              `fails, revealing the value exists (an existence oracle), and Citus cannot distribute the table`,
            fix: `${fix}\n-- or, if the table is shared on purpose: COMMENT ON TABLE ${tableName(table)} IS ${sqlString(SHARED_MARKER)};`,
          }),
        )
      }
    }
    return findings
  },
}
