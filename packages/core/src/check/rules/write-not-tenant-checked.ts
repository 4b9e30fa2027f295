import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, grantedCommands, listCommands, tenantColumnOf, tenantTables } from './finding.ts'
import { floorPolicySql, noPredicateNote, tableName, tenantPredicate } from './fix-sql.ts'
import type { Command, Finding, Policy, Rule } from '../types.ts'
import { shortSql, verdictReason } from './verdict-text.ts'

const WRITE_COMMANDS: readonly Command[] = ['INSERT', 'UPDATE']

export const writeNotTenantChecked: Rule = {
  id: 'write-not-tenant-checked',
  severity: 'error',
  summary:
    'A policy allows INSERT/UPDATE with a WITH CHECK that does not pin the tenant column to the context',
  check: ({ snapshot, analysis }) => {
    const analyzer = analysis
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      const column = tenantColumnOf(table)
      if (!table.rlsEnabled) continue
      const offenders = new Map<Policy, Command[]>()
      for (const command of grantedCommands(table).filter((c) => WRITE_COMMANDS.includes(c))) {
        if (analyzer.commandIsGuarded(table, command, 'check')) continue
        for (const policy of analyzer.applicablePolicies(table, command)) {
          if (!policy.permissive || analyzer.verdict(policy, 'check').kind === 'guard') continue
          offenders.set(policy, [...(offenders.get(policy) ?? []), command])
        }
      }
      for (const [policy, commands] of offenders) {
        const verdict = analyzer.verdict(policy, 'check')
        const explicit = policy.withCheck !== null
        const replacesGuard = explicit && analyzer.verdict(policy, 'using').kind === 'guard'
        const check = explicit ? policy.withCheck! : policy.using
        const message = replacesGuard
          ? `policy ${policy.name}: its explicit WITH CHECK (${shortSql(check?.sql ?? '')}) replaces the USING-derived check and ${verdictReason(verdict, column)}, so ${snapshot.app.name} can ${listCommands(commands)} rows into another tenant`
          : explicit
            ? `policy ${policy.name}: WITH CHECK (${shortSql(check?.sql ?? '')}) ${verdictReason(verdict, column)}, so ${snapshot.app.name} can ${listCommands(commands)} rows into another tenant`
            : `policy ${policy.name} has no WITH CHECK, so USING (${shortSql(check?.sql ?? '')}) checks new rows and ${verdictReason(verdict, column)}: ${snapshot.app.name} can ${listCommands(commands)} rows into another tenant`
        const predicate = tenantPredicate(analysis, table)
        const existing = check?.sql && check.sql !== 'true' ? `(${check.sql}) AND ` : ''
        findings.push(
          createFinding(writeNotTenantChecked, {
            table: table.displayName,
            object: policy.name,
            message,
            fix:
              predicate === null
                ? noPredicateNote(table)
                : [
                    `ALTER POLICY ${quoteIdentifier(policy.name)} ON ${tableName(table)} WITH CHECK (${existing}${predicate});`,
                    '-- and/or a RESTRICTIVE floor no policy can widen:',
                    `-- ${floorPolicySql(analysis, table)}`,
                  ].join('\n'),
          }),
        )
      }
    }
    return findings
  },
}
