import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantTables } from '../finding.ts'
import { tableName } from '../fix-sql.ts'
import type { Rule } from '../types.ts'

export const noTenantIndex: Rule = {
  id: 'no-tenant-index',
  severity: 'warning',
  summary: 'No index leads with the tenant column (every tenant query scans all tenants)',
  check: (snapshot) =>
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
          message: `no index leads with ${snapshot.tenantColumn}: the tenant policy filters every query by scanning all tenants' rows`,
          fix: `CREATE INDEX ${quoteIdentifier(`${table.name}_${snapshot.tenantColumn}_idx`)} ON ${tableName(table)} (${quoteIdentifier(snapshot.tenantColumn)});`,
        }),
      ),
}
