import { createRequire } from 'node:module'
import type { ClientBase, Pool } from 'pg'
import { fromDatabaseError, RowfenceError } from '../errors.ts'
import { applyBaseline, type Baseline } from './baseline.ts'
import { introspect } from './introspect.ts'
import { tenantTables } from './finding.ts'
import { checkRules } from './rules/index.ts'
import type { CatalogSnapshot, Finding, Rule, Severity } from './types.ts'

export interface CheckOptions {
  /** Schema whose tables are checked (default `public`). */
  readonly schema?: string | undefined
  /** The column that makes a table a tenant table (default `tenant_id`). */
  readonly tenantColumn?: string | undefined
  /** The role the application connects as (default `rowfence_app`). */
  readonly appRole?: string | undefined
  /** Tables shared across tenants on purpose (`name` or `schema.name`), exempt from unique-without-tenant. */
  readonly sharedTables?: readonly string[] | undefined
  /** Decide context-read-per-row from query plans (default) or from the policy text only. */
  readonly plans?: boolean | undefined
  /** Accepted findings: they are reported as `baselined` and do not count. */
  readonly baseline?: Baseline | undefined
  /** Rules to run (default: all of `checkRules`). */
  readonly rules?: readonly Rule[] | undefined
}

export interface CheckReport {
  readonly tool: { readonly name: 'rowfence'; readonly version: string }
  readonly database: string
  readonly schema: string
  readonly appRole: string
  readonly tenantColumn: string
  readonly serverVersion: string
  readonly tenantTables: readonly string[]
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

/** Runs rules over a snapshot; findings sorted by severity, table, rule and object. */
export function runRules(snapshot: CatalogSnapshot, rules: readonly Rule[] = checkRules): Finding[] {
  const findings = rules.flatMap((rule) => rule.check(snapshot))
  return findings.sort(
    (a, b) =>
      severityRank[a.severity] - severityRank[b.severity] ||
      (a.table ?? '').localeCompare(b.table ?? '') ||
      a.ruleId.localeCompare(b.ruleId) ||
      (a.object ?? '').localeCompare(b.object ?? ''),
  )
}

function isPool(db: Pool | ClientBase): db is Pool {
  return typeof (db as Pool).totalCount === 'number' && typeof (db as Pool).connect === 'function'
}

/**
 * Checks a live database for the ways tenant isolation can fail. Reads the catalog inside one
 * REPEATABLE READ, READ ONLY transaction (rolled back at the end) and needs no write privilege.
 * `db` is a pool (a connection is borrowed) or a connected client that is not inside a transaction.
 */
export async function checkDatabase(db: Pool | ClientBase, options: CheckOptions = {}): Promise<CheckReport> {
  const resolved = {
    schema: options.schema ?? 'public',
    tenantColumn: options.tenantColumn ?? 'tenant_id',
    appRole: options.appRole ?? 'rowfence_app',
    sharedTables: options.sharedTables ?? [],
    plans: options.plans ?? true,
  }
  for (const [name, value] of Object.entries({
    schema: resolved.schema,
    tenantColumn: resolved.tenantColumn,
    appRole: resolved.appRole,
  })) {
    if (value.length === 0 || value.includes('\u0000')) {
      throw new RowfenceError('ROWFENCE_CHECK_TARGET_NOT_FOUND', { message: `The ${name} to check is empty` })
    }
  }
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
  let snapshot: CatalogSnapshot | undefined
  let failure: unknown
  let broken = false
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    try {
      await client.query(`SET LOCAL lock_timeout = '10s'`)
      snapshot = await introspect(client, resolved)
    } catch (error) {
      failure = error
    }
    await client.query('ROLLBACK')
  } catch (error) {
    // BEGIN or ROLLBACK failed: the connection is unusable; keep the first error.
    failure ??= error
    broken = true
  } finally {
    release(broken)
  }
  if (failure !== undefined || !snapshot) {
    throw failure instanceof RowfenceError ? failure : fromDatabaseError(failure)
  }
  const rules = options.rules ?? checkRules
  const { findings, baselined } = applyBaseline(runRules(snapshot, rules), options.baseline)
  return {
    tool: { name: 'rowfence', version: TOOL_VERSION },
    database: snapshot.database,
    schema: snapshot.schema,
    appRole: snapshot.app.name,
    tenantColumn: snapshot.tenantColumn,
    serverVersion: snapshot.serverVersion,
    tenantTables: tenantTables(snapshot).map((table) => table.displayName),
    findings,
    baselined,
    rules,
  }
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 }
  for (const finding of findings) counts[finding.severity]++
  return counts
}
