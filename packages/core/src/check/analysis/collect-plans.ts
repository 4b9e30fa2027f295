/**
 * Rule 7's evidence: query plans. For each tenant table whose policies read the context, EXPLAIN (never
 * executed) the app role's statements, batched into a few round trips, inside the caller's READ ONLY
 * transaction and a savepoint that undoes the role switch and the context settings.
 */
import { randomUUID } from 'node:crypto'
import type { ClientBase } from 'pg'
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import { tenantTables } from '../catalog/relations.ts'
import { contextCallPatterns, perRowContextReads } from './plan-analysis.ts'
import type { PolicyAnalyzer } from './policy-analysis.ts'
import type { CatalogSnapshot, Command, PlanEvidence, Policy, Relation } from '../types.ts'

/** How EXPLAIN statements for one table are made, or why they cannot be. */
type PlanTarget =
  | { readonly table: Relation; readonly statements: ReadonlyArray<{ command: Command; sql: string }> }
  | { readonly table: Relation; readonly unavailable: string }

const PLAN_BATCH = 60

/**
 * Rule 7's evidence: EXPLAIN each tenant table whose policies read the context, as the app role (or as
 * the checking role when RLS applies to it with the same policies), with the tenant context set so
 * planning cannot trip over an unset value. Plain EXPLAIN never executes anything.
 */
export async function collectPlans(
  client: ClientBase,
  analyzer: PolicyAnalyzer,
  options: { readonly enabled: boolean },
): Promise<Map<number, PlanEvidence>> {
  const snapshot = analyzer.snapshot
  const evidence = new Map<number, PlanEvidence>()
  const canBecomeApp = snapshot.canBecomeApp
  const { enabled } = options
  const candidates = tenantTables(snapshot).filter(
    (table) =>
      table.rlsEnabled &&
      analyzer
        .policiesOf(table)
        .some(
          (policy) =>
            policy.appliesToApp &&
            (analyzer.facts(table, policy.using).reads.length > 0 ||
              analyzer.facts(table, policy.withCheck).reads.length > 0),
        ),
  )
  if (candidates.length === 0) return evidence
  if (!enabled) {
    for (const table of candidates) evidence.set(table.oid, { kind: 'unavailable', reason: 'plans are off' })
    return evidence
  }

  const actAsApp = snapshot.checker.name === snapshot.app.name || canBecomeApp
  const role = actAsApp ? snapshot.app.name : snapshot.checker.name
  const explain =
    snapshot.serverVersionNum >= 160000
      ? 'EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON)'
      : 'EXPLAIN (VERBOSE, FORMAT JSON)'
  const targets: PlanTarget[] = candidates.map((table) => {
    const name = qualifiedName(table.schema, table.name)
    if (!actAsApp) {
      const reason = selfPlanObstacle(snapshot, table, analyzer.policiesOf(table))
      if (reason) return { table, unavailable: reason }
      return { table, statements: [{ command: 'SELECT', sql: `${explain} SELECT 1 FROM ${name}` }] }
    }
    // SELECT shows every FOR ALL / FOR SELECT policy; UPDATE and DELETE are planned only when a policy
    // of their own reads the context (otherwise their plans repeat the same expressions).
    const ownReads = (command: Command): boolean =>
      analyzer
        .policiesOf(table)
        .some(
          (policy) =>
            policy.appliesToApp &&
            policy.commands.includes(command) &&
            !policy.commands.includes('SELECT') &&
            analyzer.facts(table, policy.using).reads.length > 0,
        )
    const statements: Array<{ command: Command; sql: string }> = []
    if (table.app.select) statements.push({ command: 'SELECT', sql: `${explain} SELECT 1 FROM ${name}` })
    if (table.app.updateTenantColumn && (!table.app.select || ownReads('UPDATE'))) {
      const column = quoteIdentifier(table.tenantColumn!.name)
      // `SET c = c`, not `= DEFAULT`: a default reading the context (the generated tenant_id default)
      // would show in the plan as a per-row read that no policy makes.
      statements.push({ command: 'UPDATE', sql: `${explain} UPDATE ${name} SET ${column} = ${column}` })
    }
    if (table.app.delete && (!table.app.select || ownReads('DELETE'))) {
      statements.push({ command: 'DELETE', sql: `${explain} DELETE FROM ${name}` })
    }
    if (statements.length === 0) {
      return {
        table,
        unavailable: `${snapshot.app.name} may only INSERT, and EXPLAIN does not show WITH CHECK`,
      }
    }
    return { table, statements }
  })

  const planned = targets.filter((target) => 'statements' in target)
  for (const target of targets) {
    if ('unavailable' in target)
      evidence.set(target.table.oid, { kind: 'unavailable', reason: target.unavailable })
  }
  if (planned.length === 0) return evidence

  const patterns = contextCallPatterns(
    [...analyzer.contextFunctions.keys()].map((oid) => snapshot.functions.get(oid)!.name),
  )
  await client.query('SAVEPOINT rowfence_check_plans')
  try {
    if (actAsApp && snapshot.checker.name !== snapshot.app.name) {
      await client.query(`SET LOCAL ROLE ${quoteIdentifier(snapshot.app.name)}`)
    }
    const tenantType = mostCommonTenantType(candidates)
    // Only custom (dotted) names: setting a built-in parameter could change how planning behaves.
    const settings = analyzer
      .tenantSettings()
      .filter((name) => /^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)+$/.test(name))
    for (const setting of settings) {
      await client.query('SELECT set_config($1, $2, true)', [setting, sampleTenantValue(tenantType)])
    }
    const statements = planned.flatMap((target) =>
      target.statements.map((statement) => ({ ...statement, table: target.table })),
    )
    const perTable = new Map<number, Array<{ command: Command; reads: string[] }>>()
    const failures = new Map<number, string>()
    for (let start = 0; start < statements.length; start += PLAN_BATCH) {
      const batch = statements.slice(start, start + PLAN_BATCH)
      const plans = await explainBatch(
        client,
        batch.map((statement) => statement.sql),
      )
      batch.forEach((statement, index) => {
        const plan = plans[index]!
        if ('error' in plan) {
          failures.set(statement.table.oid, plan.error)
          return
        }
        const list = perTable.get(statement.table.oid) ?? []
        list.push({ command: statement.command, reads: perRowContextReads(plan.json, patterns) })
        perTable.set(statement.table.oid, list)
      })
    }
    for (const target of planned) {
      const failure = failures.get(target.table.oid)
      evidence.set(
        target.table.oid,
        failure
          ? { kind: 'unavailable', reason: `EXPLAIN failed (${failure})` }
          : { kind: 'plan', role, perRow: perTable.get(target.table.oid) ?? [] },
      )
    }
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT rowfence_check_plans')
    await client.query('RELEASE SAVEPOINT rowfence_check_plans')
  }
  return evidence
}

/** Why planning as the checking role would not show the app role's policies, or null when it would. */
function selfPlanObstacle(
  snapshot: CatalogSnapshot,
  table: Relation,
  policies: readonly Policy[],
): string | null {
  const prefix = `cannot SET ROLE ${snapshot.app.name}, and`
  if (snapshot.checker.superuser || snapshot.checker.bypassRls)
    return `${prefix} RLS does not apply to ${snapshot.checker.name}`
  if (table.checkerIsOwner && !table.rlsForced)
    return `${prefix} ${snapshot.checker.name} owns the table without FORCE`
  if (!table.checkerCanSelect) return `${prefix} ${snapshot.checker.name} cannot SELECT from it`
  const differs = policies.some(
    (policy) => policy.commands.includes('SELECT') && policy.appliesToApp !== policy.appliesToChecker,
  )
  return differs ? `${prefix} its policies for ${snapshot.checker.name} differ from the app role's` : null
}

function mostCommonTenantType(tables: readonly Relation[]): string {
  const counts = new Map<string, number>()
  for (const table of tables) {
    const type = table.tenantColumn?.type ?? 'uuid'
    counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'uuid'
}

function sampleTenantValue(type: string): string {
  if (/^(smallint|integer|bigint|numeric)/.test(type)) return '1'
  if (type === 'uuid') return randomUUID()
  return 'rowfence-check'
}

type ExplainResult = { json: unknown } | { error: string }

function planJson(result: { rows: Array<Record<string, unknown>> }): unknown {
  const value = result.rows[0]?.['QUERY PLAN']
  return typeof value === 'string' ? JSON.parse(value) : value
}

/**
 * Sends many EXPLAINs as one simple-protocol query (one round trip). If any fails, the batch is rolled
 * back to a savepoint and retried one statement at a time so a single bad table cannot hide the rest.
 */
async function explainBatch(client: ClientBase, statements: readonly string[]): Promise<ExplainResult[]> {
  await client.query('SAVEPOINT rowfence_check_batch')
  try {
    const result = (await client.query(statements.join(';\n'))) as unknown
    await client.query('RELEASE SAVEPOINT rowfence_check_batch')
    const results = (Array.isArray(result) ? result : [result]) as Array<{
      rows: Array<Record<string, unknown>>
    }>
    return results.map((item) => ({ json: planJson(item) }))
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT rowfence_check_batch')
    await client.query('RELEASE SAVEPOINT rowfence_check_batch')
  }
  const results: ExplainResult[] = []
  for (const statement of statements) {
    await client.query('SAVEPOINT rowfence_check_one')
    try {
      const result = await client.query(statement)
      results.push({ json: planJson(result as unknown as { rows: Array<Record<string, unknown>> }) })
      await client.query('RELEASE SAVEPOINT rowfence_check_one')
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT rowfence_check_one')
      await client.query('RELEASE SAVEPOINT rowfence_check_one')
      const code = (error as { code?: unknown }).code
      results.push({ error: typeof code === 'string' ? `SQLSTATE ${code}` : 'unknown error' })
    }
  }
  return results
}
