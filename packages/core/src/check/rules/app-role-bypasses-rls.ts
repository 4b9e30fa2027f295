import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { Finding, Rule } from '../types.ts'

export const appRoleBypassesRls: Rule = {
  id: 'app-role-bypasses-rls',
  severity: 'error',
  summary: 'The app role is superuser, has BYPASSRLS, owns a tenant table or is a member of a role that does',
  check: ({ snapshot }) => {
    const app = snapshot.app
    const role = quoteIdentifier(app.name)
    const findings: Finding[] = []
    if (app.superuser) {
      findings.push(
        createFinding(appRoleBypassesRls, {
          table: null,
          object: `role ${app.name}`,
          message: `the app role ${app.name} is a superuser: row-level security never applies to it`,
          fix: `ALTER ROLE ${role} NOSUPERUSER;`,
        }),
      )
      // A superuser is a member of every role and owns everything in effect: nothing more to add.
      return findings
    }
    if (app.bypassRls) {
      findings.push(
        createFinding(appRoleBypassesRls, {
          table: null,
          object: `role ${app.name}`,
          message: `the app role ${app.name} has BYPASSRLS: row-level security never applies to it`,
          fix: `ALTER ROLE ${role} NOBYPASSRLS;`,
        }),
      )
    }
    for (const membership of app.privilegedMemberships) {
      findings.push(
        createFinding(appRoleBypassesRls, {
          table: null,
          object: `membership ${membership.name}`,
          message: `the app role ${app.name} is a member of ${membership.name} (${membership.why}) and can act as it, skipping row-level security`,
          fix: `REVOKE ${quoteIdentifier(membership.name)} FROM ${role};`,
        }),
      )
    }
    for (const table of tenantTables(snapshot)) {
      if (!table.appIsOwner) continue
      const direct = table.owner === app.name
      findings.push(
        createFinding(appRoleBypassesRls, {
          table: table.displayName,
          object: `owner ${table.owner}`,
          message: direct
            ? `the app role ${app.name} owns the table: it can disable RLS, and skips it unless FORCED`
            : `the app role ${app.name} is a member of the owner ${table.owner}: it can disable RLS, and skips it unless FORCED`,
          fix: direct
            ? `-- owner_role: the role that runs migrations, which the app never connects as\nALTER TABLE ${tableName(table)} OWNER TO owner_role;`
            : `REVOKE ${quoteIdentifier(table.owner)} FROM ${role};`,
        }),
      )
    }
    return findings
  },
}
