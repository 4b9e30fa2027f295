import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { Relation, Rule } from '../types.ts'

/** Why the owner (who skips unforced RLS) could end up running application queries. */
function ownerExposure(table: Relation, appRole: string): string | null {
  if (table.appIsOwner) return `${appRole} is (or is a member of) the owner "${table.owner}"`
  if (table.ownerCanLogin) return `the owner "${table.owner}" can log in`
  if (table.ownerRunsCode) return `the owner "${table.owner}" owns views or SECURITY DEFINER functions`
  return null
}

export const rlsNotForced: Rule = {
  id: 'rls-not-forced',
  severity: 'error',
  summary: 'RLS is enabled but not FORCED while the table owner could run app queries',
  check: ({ snapshot, analysis }) =>
    tenantTables(snapshot).flatMap((table) => {
      if (!table.rlsEnabled || table.rlsForced) return []
      const exposure = ownerExposure(table, snapshot.app.name)
      if (!exposure) return []
      const fix = [`ALTER TABLE ${tableName(table)} FORCE ROW LEVEL SECURITY;`]
      if (table.ownerBypassesRls) {
        fix.push(
          `-- "${table.owner}" is a superuser or BYPASSRLS role, which FORCE cannot stop:`,
          `-- give the table a dedicated owner role (ALTER TABLE ... OWNER TO ...).`,
        )
      }
      return [
        createFinding(rlsNotForced, {
          table: table.displayName,
          message: `RLS is not forced and ${exposure}: queries running as the owner skip every policy`,
          fix: fix.join('\n'),
        }),
      ]
    }),
}
