import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { noPredicateNote, tableName, tenantPredicate } from './fix-sql.ts'
import type { Finding, Rule } from '../types.ts'

export const volatileOrLeakyContext: Rule = {
  id: 'volatile-or-leaky-context',
  severity: 'warning',
  summary:
    'The context function is VOLATILE, or a policy applies a non-LEAKPROOF function to the tenant column',
  check: ({ snapshot, analysis }) => {
    const analyzer = analysis
    const findings: Finding[] = []
    const volatileUsers = new Map<number, Set<string>>()
    for (const table of tenantTables(snapshot)) {
      if (!table.rlsEnabled) continue
      for (const policy of analyzer.policiesOf(table)) {
        if (!policy.appliesToApp) continue
        const leaky = new Set<string>()
        for (const expression of [policy.using, policy.withCheck]) {
          const facts = analyzer.facts(table, expression)
          for (const call of facts.leakyCalls) leaky.add(call)
          for (const read of facts.reads) {
            const fn = read.functionOid === null ? undefined : snapshot.functions.get(read.functionOid)
            if (fn?.volatility === 'volatile') {
              volatileUsers.set(fn.oid, (volatileUsers.get(fn.oid) ?? new Set()).add(table.displayName))
            }
          }
        }
        if (leaky.size === 0) continue
        const predicate = tenantPredicate(analysis, table)
        findings.push(
          createFinding(volatileOrLeakyContext, {
            table: table.displayName,
            object: policy.name,
            message:
              `policy ${policy.name} applies non-LEAKPROOF ${[...leaky].join(', ')} to the tenant column: ` +
              `no index on ${tenantColumnOf(table)} can serve it, and its errors can reveal other tenants' values`,
            fix:
              predicate === null
                ? noPredicateNote(table)
                : `-- compare the column itself with the context, e.g.:\n` +
                  `ALTER POLICY ${quoteIdentifier(policy.name)} ON ${tableName(table)} USING (${predicate})` +
                  `${policy.commands.includes('INSERT') || policy.commands.includes('UPDATE') ? ` WITH CHECK (${predicate})` : ''};`,
          }),
        )
      }
    }
    for (const [oid, tables] of volatileUsers) {
      const fn = snapshot.functions.get(oid)!
      findings.push(
        createFinding(volatileOrLeakyContext, {
          table: null,
          object: fn.signature,
          message:
            `context function ${fn.schema}.${fn.name} is VOLATILE: it is re-evaluated for every row and cannot drive ` +
            `an index scan (used by policies on ${[...tables].slice(0, 3).join(', ')}${tables.size > 3 ? ', …' : ''})`,
          fix: `ALTER FUNCTION ${fn.signature} STABLE;`,
        }),
      )
    }
    return findings
  },
}
