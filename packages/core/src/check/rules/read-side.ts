import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, grantedCommands, listCommands, tenantColumnOf, tenantTables } from './finding.ts'
import { floorPolicySql, tableName, tenantPredicate } from './fix-sql.ts'
import { type PolicyAnalyzer, type Verdict } from '../analysis/policy-analysis.ts'
import type { Command, Finding, Policy, Rule } from '../types.ts'
import { shortSql, verdictReason } from './verdict-text.ts'

const READ_COMMANDS: readonly Command[] = ['SELECT', 'UPDATE', 'DELETE']

/**
 * Shared by the two read-side rules: policies whose USING is not a tenant guard, on commands where no
 * combination of the app role's policies keeps other tenants' rows out. `accept` picks the verdicts a
 * rule reports.
 */
export function readSideFindings(
  rule: Rule,
  analysis: PolicyAnalyzer,
  accept: (verdict: Verdict) => boolean,
): Finding[] {
  const analyzer = analysis
  const snapshot = analysis.snapshot
  const findings: Finding[] = []
  for (const table of tenantTables(snapshot)) {
    if (!table.rlsEnabled) continue
    const offenders = new Map<Policy, Command[]>()
    for (const command of grantedCommands(table).filter((c) => READ_COMMANDS.includes(c))) {
      if (analyzer.commandIsGuarded(table, command, 'using')) continue
      for (const policy of analyzer.applicablePolicies(table, command)) {
        if (!policy.using || !accept(analyzer.verdict(policy, 'using'))) continue
        offenders.set(policy, [...(offenders.get(policy) ?? []), command])
      }
    }
    for (const [policy, commands] of offenders) {
      const verdict = analyzer.verdict(policy, 'using')
      const predicate = tenantPredicate(analysis, table)
      findings.push(
        createFinding(rule, {
          table: table.displayName,
          object: policy.name,
          message:
            `${policy.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} policy ${policy.name}: USING (${shortSql(policy.using?.sql ?? '')}) ` +
            `${verdictReason(verdict, tenantColumnOf(table))} and no RESTRICTIVE tenant policy covers ${listCommands(commands)}, ` +
            `so ${snapshot.app.name} can ${listCommands(commands)} other tenants' rows`,
          fix: [
            floorPolicySql(analysis, table),
            ...(predicate === null
              ? []
              : [
                  `-- or pin the policy itself to the tenant:`,
                  `-- ALTER POLICY ${quoteIdentifier(policy.name)} ON ${tableName(table)} USING (${predicate});`,
                ]),
          ].join('\n'),
        }),
      )
    }
  }
  return findings
}
