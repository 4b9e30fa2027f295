import { quoteIdentifier } from '../../sql/identifier.ts'
import type { Finding, Rule } from '../types.ts'
import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'

export const truncateOrReferencesGranted: Rule = {
  id: 'truncate-or-references-granted',
  severity: 'error',
  summary:
    'The app role holds TRUNCATE, REFERENCES or TRIGGER on a tenant table, or CREATE on the schema (RLS filters none)',
  check: ({ snapshot }) => {
    const app = quoteIdentifier(snapshot.app.name)
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      const held = [
        table.app.truncate ? 'TRUNCATE' : '',
        table.app.references ? 'REFERENCES' : '',
        table.app.trigger ? 'TRIGGER' : '',
      ].filter(Boolean)
      if (held.length === 0) continue
      const why = [
        table.app.truncate ? "TRUNCATE empties every tenant's rows" : '',
        table.app.references ? "REFERENCES lets it build keys that probe other tenants' values" : '',
        table.app.trigger
          ? "TRIGGER lets it attach a trigger (even with a pg_temp function) that copies other tenants' new rows into its own"
          : '',
      ].filter(Boolean)
      findings.push(
        createFinding(truncateOrReferencesGranted, {
          table: table.displayName,
          message: `${snapshot.app.name} holds ${held.join(' and ')}, which RLS does not filter: ${why.join('; ')}`,
          fix: `REVOKE ${held.join(', ')} ON ${tableName(table)} FROM ${app}, PUBLIC;`,
        }),
      )
    }
    for (const schema of snapshot.appCreateSchemas) {
      findings.push(
        createFinding(truncateOrReferencesGranted, {
          table: null,
          object: `schema ${schema}`,
          message:
            `${snapshot.app.name} holds CREATE on schema ${schema}: it can create persistent functions for triggers, ` +
            `and tables or functions that shadow the app's own`,
          fix: `REVOKE CREATE ON SCHEMA ${quoteIdentifier(schema)} FROM ${app}, PUBLIC;`,
        }),
      )
    }
    return findings
  },
}
