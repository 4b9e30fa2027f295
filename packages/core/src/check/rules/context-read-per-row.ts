import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantTables } from './finding.ts'
import { tableName } from './fix-sql.ts'
import { escapeRegExp, type PolicyAnalyzer } from '../analysis/policy-analysis.ts'
import type { Finding, Policy, Relation, Rule } from '../types.ts'

/** Wraps bare context calls in `(SELECT ...)` so PostgreSQL runs them once per query (an InitPlan). */
export function wrapContextCalls(sql: string, functionNames: readonly string[]): string {
  const calls = [
    String.raw`current_setting\('(?:[^']|'')*'(?:::text)?(?:,\s*(?:true|false))?\)`,
    ...functionNames.map((name) => String.raw`(?:[\w$]+\.|"[^"]+"\.)?"?${escapeRegExp(name)}"?\(\)`),
  ]
  const pattern = new RegExp(String.raw`(?<!SELECT )(?<![\w$."])(?:${calls.join('|')})`, 'gi')
  return sql.replace(pattern, (call) => `(SELECT ${call})`)
}

/** Applicable policies with a context read outside a sub-select, and the fix for each. */
function culprits(analysis: PolicyAnalyzer, table: Relation): Array<{ policy: Policy; fix: string }> {
  const analyzer = analysis
  const names = [...analyzer.contextFunctions.keys()].map((oid) => analysis.snapshot.functions.get(oid)!.name)
  return analyzer
    .policiesOf(table)
    .filter((policy) => policy.appliesToApp)
    .filter((policy) =>
      [policy.using, policy.withCheck].some((expression) =>
        analyzer.facts(table, expression).reads.some((read) => !read.wrappedInSubSelect),
      ),
    )
    .map((policy) => {
      const clauses = [
        policy.using ? `USING (${wrapContextCalls(policy.using.sql, names)})` : '',
        policy.withCheck ? `WITH CHECK (${wrapContextCalls(policy.withCheck.sql, names)})` : '',
      ].filter(Boolean)
      return {
        policy,
        fix: `ALTER POLICY ${quoteIdentifier(policy.name)} ON ${tableName(table)} ${clauses.join(' ')};`,
      }
    })
}

export const contextReadPerRow: Rule = {
  id: 'context-read-per-row',
  severity: 'warning',
  summary:
    'The context (current_setting or its function) is evaluated per row, not once per query (from the plan)',
  check: ({ snapshot, analysis, plans }) => {
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      const evidence = plans.get(table.oid)
      if (!evidence || !table.rlsEnabled) continue
      // Citus refuses the sub-select this rule asks for (see citus-policy-subquery): on its tables the
      // direct call is the only form, evaluated on the shards.
      if (snapshot.citus?.tables.has(table.oid)) continue
      const perRow = evidence.kind === 'plan' ? evidence.perRow.filter((entry) => entry.reads.length > 0) : []
      if (evidence.kind === 'plan' && perRow.length === 0) continue
      const suspects = culprits(analysis, table)
      const fix =
        suspects.length > 0
          ? suspects.map((suspect) => suspect.fix).join('\n')
          : '-- call the context function as (SELECT fn()) in every policy of this table'
      if (evidence.kind === 'plan') {
        const first = perRow[0]!
        findings.push(
          createFinding(contextReadPerRow, {
            table: table.displayName,
            message:
              `the ${perRow.map((entry) => entry.command).join('/')} plan as ${evidence.role} reads the context ` +
              `outside an InitPlan, once per row (${first.reads[0]})` +
              (suspects.length > 0
                ? `; policies: ${suspects.map((suspect) => suspect.policy.name).join(', ')}`
                : ''),
            fix,
          }),
        )
      } else if (suspects.length > 0) {
        findings.push(
          createFinding(contextReadPerRow, {
            table: table.displayName,
            message:
              `policies ${suspects.map((suspect) => suspect.policy.name).join(', ')} read the context outside a ` +
              `(SELECT ...), so it runs per row (decided from the policy text: no plan because ${evidence.reason})`,
            fix,
          }),
        )
      }
    }
    return findings
  },
}
