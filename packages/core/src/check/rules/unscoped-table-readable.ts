import { quoteIdentifier } from '../../sql/identifier.ts'
import { SHARED_MARKER } from '../catalog/introspect.ts'
import type { Finding, Rule } from '../types.ts'
import { createFinding, tenantTables } from './finding.ts'
import { sqlString, tableName } from './fix-sql.ts'

export const unscopedTableReadable: Rule = {
  id: 'unscoped-table-readable',
  severity: 'warning',
  summary:
    'The app role can read a table without RLS and without the tenant column that looks tenant-owned (tenant-like columns, or a child of a tenant table)',
  check: ({ snapshot }) => {
    const tenantOids = new Set(tenantTables(snapshot).map((table) => table.oid))
    const findings: Finding[] = []
    for (const table of snapshot.relations) {
      if (table.kind !== 'table' && table.kind !== 'partitioned') continue
      if (table.tenantColumn !== null || table.rlsEnabled || table.shared || table.isPartition) continue
      if (!table.app.select) continue
      const parents = snapshot.foreignKeys
        .filter((key) => key.table === table.oid && key.parentTenantAttnum !== null && !key.parentShared)
        .filter((key) =>
          snapshot.relations.some(
            (relation) =>
              tenantOids.has(relation.oid) &&
              relation.schema === key.parentSchema &&
              relation.name === key.parentName,
          ),
        )
        .map((key) => key.parentDisplayName)
      const reasons = [
        table.tenantLikeColumns.length > 0
          ? `it has tenant-like columns (${table.tenantLikeColumns.join(', ')})`
          : '',
        parents.length > 0 ? `it references the tenant table(s) ${[...new Set(parents)].join(', ')}` : '',
      ].filter(Boolean)
      if (reasons.length === 0) continue
      findings.push(
        createFinding(unscopedTableReadable, {
          table: table.displayName,
          message:
            `${snapshot.app.name} can read this table, which has no row-level security and no tenant column, yet ` +
            `${reasons.join(' and ')}: every tenant's rows are visible to every tenant`,
          fix: [
            `-- give it the tenant column and a tenant policy, or, if every tenant may see all of it:`,
            `COMMENT ON TABLE ${tableName(table)} IS ${sqlString(SHARED_MARKER)};`,
            `-- or, if the app should not read it: REVOKE SELECT ON ${tableName(table)} FROM ${quoteIdentifier(snapshot.app.name)};`,
          ].join('\n'),
        }),
      )
    }
    return findings
  },
}
