import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, grantedCommands, listCommands, tenantTables } from './finding.ts'
import { noPredicateNote, tableName, tenantPredicate } from './fix-sql.ts'
import type { Command, Rule } from '../types.ts'

export const missingPolicyForCommand: Rule = {
  id: 'missing-policy-for-command',
  severity: 'warning',
  summary: 'RLS is on but no permissive policy covers a command the app role is granted (silently empty)',
  check: ({ snapshot, analysis }) => {
    const analyzer = analysis
    return tenantTables(snapshot).flatMap((table) => {
      if (!table.rlsEnabled) return []
      const uncovered = grantedCommands(table).filter(
        (command) => !analyzer.applicablePolicies(table, command).some((policy) => policy.permissive),
      )
      if (uncovered.length === 0) return []
      const predicate = tenantPredicate(analysis, table)
      const clause = (command: Command): string =>
        command === 'INSERT'
          ? `WITH CHECK (${predicate})`
          : command === 'UPDATE'
            ? `USING (${predicate}) WITH CHECK (${predicate})`
            : `USING (${predicate})`
      const fix = [
        ...(predicate === null ? [noPredicateNote(table)] : []),
        ...(predicate === null ? [] : uncovered).map(
          (command) =>
            `CREATE POLICY ${quoteIdentifier(`${table.name}_tenant_${command.toLowerCase()}`)} ON ${tableName(table)} ` +
            `FOR ${command} TO ${quoteIdentifier(snapshot.app.name)} ${clause(command)};`,
        ),
        `-- or, if ${snapshot.app.name} should not ${listCommands(uncovered)} here:`,
        `-- REVOKE ${listCommands(uncovered)} ON ${tableName(table)} FROM ${quoteIdentifier(snapshot.app.name)};`,
      ]
      return [
        createFinding(missingPolicyForCommand, {
          table: table.displayName,
          message: `${snapshot.app.name} may ${listCommands(uncovered)} but no PERMISSIVE policy allows it: those statements silently see or change 0 rows`,
          fix: fix.join('\n'),
        }),
      ]
    })
  },
}
