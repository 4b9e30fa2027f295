import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { Rule } from '../types.ts'

export const noTenantIndex: Rule = {
  id: 'no-tenant-index',
  severity: 'warning',
  summary: 'No index leads with the tenant column (every tenant query scans all tenants)',
  check: ({ snapshot }) =>
    tenantTables(snapshot)
      .filter(
        (table) =>
          !snapshot.indexes.some(
            (index) =>
              index.table === table.oid && index.valid && index.keyAttnums[0] === table.tenantColumn!.attnum,
          ),
      )
      .map((table) =>
        createFinding(noTenantIndex, {
          table: table.displayName,
          message: `no index leads with ${tenantColumnOf(table)}: the tenant policy filters every query by scanning all tenants' rows`,
          fix: `CREATE INDEX ${quoteIdentifier(`${table.name}_${tenantColumnOf(table)}_idx`)} ON ${tableName(table)} (${quoteIdentifier(tenantColumnOf(table))});`,
        }),
      ),
}
