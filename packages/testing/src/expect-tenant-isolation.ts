import type { Pool } from 'pg'
import { probeDatabase, type ProbeContext, type ProbeReport, type ProbeResult } from '@rowfence/core/check'

export interface ExpectTenantIsolationOptions {
  /** A pool whose role may SET ROLE to the app role and sees both tenants' rows (owner or superuser). */
  readonly pool: Pool
  /** The tenant tables to probe (`name` or `schema.name`); all tenant tables of the schemas when omitted. */
  readonly tables?: readonly string[] | undefined
  /** The role your app connects as (default `rowfence_app`). */
  readonly appRole?: string | undefined
  readonly schemas?: readonly string[] | undefined
  readonly tenantColumn?: string | undefined
  readonly tenantColumns?: Readonly<Record<string, string>> | undefined
  /** [attacker, victim]; by default the two tenants with the most rows. */
  readonly tenants?: readonly [string, string] | undefined
  /** How your app sets its context (inferred from the policies when omitted). */
  readonly context?: ProbeContext | undefined
}

/** Thrown by `expectTenantIsolation` when a probe leaked: one line per leak, with its statement. */
export class TenantIsolationError extends Error {
  override readonly name = 'TenantIsolationError'
  readonly leaked: readonly ProbeResult[]

  constructor(leaked: readonly ProbeResult[]) {
    super(
      `tenant isolation leaked ${leaked.length} time(s):\n` +
        leaked
          .map((result) => `  ${result.table} ${result.probe}: ${result.detail}\n    ${result.statement}`)
          .join('\n'),
    )
    this.leaked = leaked
  }
}

/**
 * Runs the live probes (as the app role, in one transaction that is rolled back: read, insert, update,
 * delete, plant, re-parent, unique keys, TRIGGER, TRUNCATE across two tenants) and throws a
 * `TenantIsolationError` listing every leak, so a test fails on any. Returns the report otherwise.
 *
 * ```ts
 * it('isolates tenants', async () => {
 *   await expectTenantIsolation({ pool, tables: ['items', 'articles'], appRole: 'app' })
 * })
 * ```
 */
export async function expectTenantIsolation(options: ExpectTenantIsolationOptions): Promise<ProbeReport> {
  const report = await probeDatabase(options.pool, {
    schemas: options.schemas,
    tenantColumn: options.tenantColumn,
    tenantColumns: options.tenantColumns,
    appRole: options.appRole,
    tables: options.tables,
    tenants: options.tenants,
    context: options.context,
  })
  if (options.tables) {
    const probed = new Set(report.results.map((result) => result.table))
    const missing = options.tables.filter(
      (table) => ![...probed].some((name) => name === table || name.endsWith(`.${table}`)),
    )
    if (missing.length > 0) {
      throw new Error(`expectTenantIsolation: not tenant tables (or not found): ${missing.join(', ')}`)
    }
  }
  if (report.leaked.length > 0) throw new TenantIsolationError(report.leaked)
  return report
}
