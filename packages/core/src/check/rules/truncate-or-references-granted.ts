import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { Rule } from '../types.ts'

export const truncateOrReferencesGranted: Rule = {
  id: 'truncate-or-references-granted',
  severity: 'error',
  summary: 'The app role holds TRUNCATE or REFERENCES on a tenant table (neither is covered by RLS)',
  check: ({ snapshot, analysis }) =>
    tenantTables(snapshot).flatMap((table) => {
      const privileges = [
        table.app.truncate ? 'TRUNCATE' : '',
        table.app.references ? 'REFERENCES' : '',
      ].filter(Boolean)
      if (privileges.length === 0) return []
      const why = [
        table.app.truncate ? "TRUNCATE empties every tenant's rows" : '',
        table.app.references ? "REFERENCES lets it build keys that probe other tenants' values" : '',
      ].filter(Boolean)
      return [
        createFinding(truncateOrReferencesGranted, {
          table: table.displayName,
          message: `${snapshot.app.name} holds ${privileges.join(' and ')}, which RLS does not filter: ${why.join('; ')}`,
          fix: `REVOKE ${privileges.join(', ')} ON ${tableName(table)} FROM ${quoteIdentifier(snapshot.app.name)}, PUBLIC;`,
        }),
      ]
    }),
}
