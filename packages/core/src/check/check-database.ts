import { createRequire } from 'node:module'
import type { ClientBase, Pool } from 'pg'
import { fromDatabaseError, RowfenceError } from '../errors.ts'
import { collectPlans } from './analysis/collect-plans.ts'
import { analyze } from './analysis/policy-analysis.ts'
import { introspect, type IntrospectOptions } from './catalog/introspect.ts'
import { tenantTables } from './catalog/relations.ts'
import { applyBaseline, type Baseline } from './report/baseline.ts'
import { checkRules } from './rules/index.ts'
import type { CatalogSnapshot, Finding, PlanEvidence, Rule, RuleInput, Severity } from './types.ts'
import { verifyFixes } from './verify-fixes.ts'

export interface CheckOptions {
  /** Schema whose tables are checked (default `public`). */
  readonly schema?: string | undefined
  /** Several schemas to check in one run (overrides `schema`). */
  readonly schemas?: readonly string[] | undefined
  /** The column that makes a table a tenant table (default `tenant_id`). */
  readonly tenantColumn?: string | undefined
  /** Per-table tenant columns, keyed by `table` or `schema.table` (e.g. `{ orders: 'org_id' }`). */
  readonly tenantColumns?: Readonly<Record<string, string>> | undefined
  /** The role the application connects as (default `rowfence_app`). */
  readonly appRole?: string | undefined
  /** Tables shared across tenants on purpose (`name` or `schema.name`), exempt from unique-without-tenant. */
  readonly sharedTables?: readonly string[] | undefined
  /** Decide context-read-per-row from query plans (default) or from the policy text only. */
  readonly plans?: boolean | undefined
  /**
   * Verify every fix (default false from code, on in the CLI): apply it in a transaction that is rolled
   * back, re-check, and mark it `verified` only if it ran and cleared its finding. Needs a role that
   * may run the fix (the owner); takes the fix's locks briefly.
   */
  readonly verifyFixes?: boolean | undefined
  /** Accepted findings: they are reported as `baselined` and do not count. */
  readonly baseline?: Baseline | undefined
  /** Rules to run (default: all of `checkRules`). */
  readonly rules?: readonly Rule[] | undefined
}

export interface CheckReport {
  readonly tool: { readonly name: 'rowfence'; readonly version: string }
  readonly database: string
  /** The schemas checked, comma-separated (see `schemas`). */
  readonly schema: string
  readonly schemas: readonly string[]
  readonly appRole: string
  readonly tenantColumn: string
  readonly serverVersion: string
  readonly tenantTables: readonly string[]
  /**
   * When no table has the tenant column: columns that look like tenant keys (named like tenant, org,
   * account, team, workspace) found in several tables, most frequent first.
   */
  readonly suggestedTenantColumns: readonly string[]
  /** Findings not accepted by the baseline, most severe first. */
  readonly findings: readonly Finding[]
  /** Findings the baseline accepts. */
  readonly baselined: readonly Finding[]
  readonly rules: readonly Rule[]
}

export const TOOL_VERSION: string = (
  createRequire(import.meta.url)('../../package.json') as { version: string }
).version

const severityRank: Record<Severity, number> = { error: 0, warning: 1, info: 2 }

function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      severityRank[a.severity] - severityRank[b.severity] ||
      (a.table ?? '').localeCompare(b.table ?? '') ||
      a.ruleId.localeCompare(b.ruleId) ||
      (a.object ?? '').localeCompare(b.object ?? ''),
  )
}

/**
 * Runs rules over a snapshot (analyzing it first); findings sorted by severity, table, rule and object.
 * `plans` is rule 7's evidence from `collectPlans` (without it, rule 7 has nothing to report).
 */
export function runRules(
  snapshot: CatalogSnapshot,
  rules: readonly Rule[] = checkRules,
  plans: ReadonlyMap<number, PlanEvidence> = new Map(),
): Finding[] {
  return runRulesOn({ snapshot, analysis: analyze(snapshot), plans }, rules)
}

export function runRulesOn(input: RuleInput, rules: readonly Rule[] = checkRules): Finding[] {
  return sortFindings(rules.flatMap((rule) => rule.check(input)))
}

function isPool(db: Pool | ClientBase): db is Pool {
  return typeof (db as Pool).totalCount === 'number' && typeof (db as Pool).connect === 'function'
}

/** Columns named like tenant keys that appear in at least two tables, most frequent first. */
export function suggestTenantColumns(snapshot: CatalogSnapshot): string[] {
  const counts = new Map<string, number>()
  for (const relation of snapshot.relations) {
    if (relation.kind !== 'table' && relation.kind !== 'partitioned') continue
    for (const column of relation.tenantLikeColumns) counts.set(column, (counts.get(column) ?? 0) + 1)
  }
  return [...counts]
    .filter(([, count]) => count >= 2)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([column]) => column)
}

/** Resolves and validates options into what `introspect` needs. */
export function introspectOptions(options: CheckOptions): IntrospectOptions & { readonly appRole: string } {
  const resolved = {
    schemas: options.schemas && options.schemas.length > 0 ? options.schemas : [options.schema ?? 'public'],
    tenantColumn: options.tenantColumn ?? 'tenant_id',
    tenantColumns: options.tenantColumns ?? {},
    appRole: options.appRole ?? 'rowfence_app',
    sharedTables: options.sharedTables ?? [],
  }
  const names: Array<[string, string]> = [
    ['tenantColumn', resolved.tenantColumn],
    ['appRole', resolved.appRole],
    ...resolved.schemas.map((schema): [string, string] => ['schema', schema]),
    ...Object.entries(resolved.tenantColumns).flatMap(([table, column]): Array<[string, string]> => [
      ['table', table],
      ['tenantColumn', column],
    ]),
  ]
  for (const [name, value] of names) {
    if (value.length === 0 || value.includes('\u0000')) {
      throw new RowfenceError('ROWFENCE_CHECK_TARGET_NOT_FOUND', { message: `The ${name} to check is empty` })
    }
  }
  return resolved
}

/**
 * Checks a live database for the ways tenant isolation can fail: introspect -> analyze -> plans ->
 * rules (-> verify fixes). Reads the catalog inside one REPEATABLE READ, READ ONLY transaction (rolled
 * back) and needs no write privilege unless fixes are verified. `db` is a pool (a connection is
 * borrowed) or a connected client that is not inside a transaction.
 */
export async function checkDatabase(db: Pool | ClientBase, options: CheckOptions = {}): Promise<CheckReport> {
  const resolved = introspectOptions(options)
  const rules = options.rules ?? checkRules
  let client: ClientBase
  let release = (_broken: boolean): void => undefined
  try {
    if (isPool(db)) {
      const pooled = await db.connect()
      client = pooled
      release = (broken) => pooled.release(broken)
    } else {
      client = db
    }
  } catch (error) {
    throw fromDatabaseError(error)
  }
  let input: RuleInput | undefined
  let findings: Finding[] = []
  let failure: unknown
  let broken = false
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    try {
      await client.query(`SET LOCAL lock_timeout = '10s'`)
      const snapshot = await introspect(client, resolved)
      const analysis = analyze(snapshot)
      const plans = await collectPlans(client, analysis, { enabled: options.plans ?? true })
      input = { snapshot, analysis, plans }
      findings = runRulesOn(input, rules)
    } catch (error) {
      failure = error
    }
    await client.query('ROLLBACK')
    if (failure === undefined && input && options.verifyFixes) {
      findings = await verifyFixes(client, findings, {
        options: resolved,
        rules,
        plans: options.plans ?? true,
      })
    }
  } catch (error) {
    // BEGIN or ROLLBACK failed: the connection is unusable; keep the first error.
    failure ??= error
    broken = true
  } finally {
    release(broken)
  }
  if (failure !== undefined || !input) {
    throw failure instanceof RowfenceError ? failure : fromDatabaseError(failure)
  }
  const { snapshot } = input
  const tables = tenantTables(snapshot)
  const { findings: open, baselined } = applyBaseline(findings, options.baseline)
  return {
    tool: { name: 'rowfence', version: TOOL_VERSION },
    database: snapshot.database,
    schema: snapshot.schemas.join(', '),
    schemas: snapshot.schemas,
    appRole: snapshot.app.name,
    tenantColumn: snapshot.tenantColumn,
    serverVersion: snapshot.serverVersion,
    tenantTables: tables.map((table) => table.displayName),
    suggestedTenantColumns: tables.length === 0 ? suggestTenantColumns(snapshot) : [],
    findings: open,
    baselined,
    rules,
  }
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 }
  for (const finding of findings) counts[finding.severity]++
  return counts
}
