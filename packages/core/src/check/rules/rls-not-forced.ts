import type { Finding, Relation, Rule } from '../types.ts'
import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'

/** Why the owner (who skips unforced RLS) could end up running application queries. */
function ownerExposure(table: Relation, appRole: string): { why: string; certain: boolean } | null {
  if (table.appIsOwner)
    return { why: `${appRole} is (or is a member of) the owner "${table.owner}"`, certain: true }
  if (table.ownerRunsCode) {
    return { why: `the owner "${table.owner}" owns views or SECURITY DEFINER functions`, certain: false }
  }
  if (table.ownerCanLogin) return { why: `the owner "${table.owner}" can log in`, certain: false }
  return null
}

export const rlsNotForced: Rule = {
  id: 'rls-not-forced',
  severity: 'error',
  summary:
    'RLS is enabled but not FORCED while the table owner could run app queries (a superuser owner is reported once)',
  check: ({ snapshot }) => {
    const findings: Finding[] = []
    const privilegedOwners = new Map<string, Relation[]>()
    for (const table of tenantTables(snapshot)) {
      if (!table.rlsEnabled) continue
      if (table.ownerBypassesRls) {
        // FORCE does nothing for a superuser or BYPASSRLS owner: the finding is the owner itself.
        if (table.ownerCanLogin || table.appIsOwner) {
          privilegedOwners.set(table.owner, [...(privilegedOwners.get(table.owner) ?? []), table])
        }
        continue
      }
      if (table.rlsForced) continue
      const exposure = ownerExposure(table, snapshot.app.name)
      if (!exposure) continue
      findings.push(
        createFinding(rlsNotForced, {
          table: table.displayName,
          severity: exposure.certain ? 'error' : 'warning',
          message:
            `RLS is not forced and ${exposure.why}: queries running as the owner skip every policy` +
            (exposure.certain ? '' : ' (a hole if the app, or code running with its rights, uses it)'),
          fix:
            `ALTER TABLE ${tableName(table)} FORCE ROW LEVEL SECURITY;\n` +
            `-- the owner's own connections then meet the policies too: an admin path that connects as the owner ` +
            `needs its own role and policies`,
        }),
      )
    }
    for (const [owner, tables] of privilegedOwners) {
      const names = tables.map((table) => table.displayName)
      findings.push(
        createFinding(rlsNotForced, {
          table: null,
          object: `owner ${owner}`,
          severity: 'warning',
          message:
            `${names.length} tenant table(s) (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}) are owned by ` +
            `"${owner}", a superuser or BYPASSRLS role that can log in: RLS (forced or not) never applies to it, so ` +
            `nothing but the owner's own queries may connect as it`,
          fix:
            `-- FORCE cannot help here: give the tables an owner role that is not a superuser, e.g.\n` +
            tables.map((table) => `-- ALTER TABLE ${tableName(table)} OWNER TO app_owner;`).join('\n'),
        }),
      )
    }
    return findings
  },
}
