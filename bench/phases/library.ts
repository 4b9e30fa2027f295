import { isDeepStrictEqual } from 'node:util'
import pg from 'pg'
import { queryAsTenant, TENANT_SETTING, withTenant } from '@rowfence/core'
import type { BenchTenant } from '../dataset.ts'
import { rotate } from '../scenarios.ts'
import { cpuBetween } from '../cpu.ts'
import { spreadOf, type Spread } from '../stats.ts'
import { describeCpu, type BenchContext, type CpuPerRequest } from './bench-context.ts'
import { LIST_ITEMS_SQL, LIST_PLAIN_ITEMS_SQL } from './statements.ts'

export const LIBRARY_VARIANTS = [
  'pool.query',
  'queryAsTenant',
  'withTenant',
  'naive',
  'pool.query, generic plan',
  'queryAsTenant, generic plan',
] as const
export type LibraryVariant = (typeof LIBRARY_VARIANTS)[number]

export const LIBRARY_DESCRIPTIONS: Record<LibraryVariant, string> = {
  'pool.query': 'plain `pool.query` on the no-RLS copy, tenant in WHERE (baseline)',
  queryAsTenant: 'the single-query path: set_config + query in one Sync group',
  withTenant: 'withTenant: BEGIN + set_config + query pipelined, then COMMIT',
  naive: 'BEGIN, set_config, query, COMMIT: four awaited round trips',
  'pool.query, generic plan': 'pool.query on connections with plan_cache_mode = force_generic_plan',
  'queryAsTenant, generic plan':
    "queryAsTenant with { genericPlan: true } (plan_cache_mode set transaction-locally in the same round trip), as the demo's GET /items/ runs",
}

export interface LibraryMeasurement {
  readonly round: number
  readonly callers: number
  readonly variant: LibraryVariant
  readonly operations: number
  readonly seconds: number
  readonly perSecond: number
  readonly cpu: CpuPerRequest
}

export interface LibraryPhaseResult {
  readonly poolSize: number
  readonly measurements: readonly LibraryMeasurement[]
  /** Per caller count: each variant's throughput over pool.query's, one ratio per round. */
  readonly ratios: readonly {
    callers: number
    ratio: Record<'queryAsTenant' | 'withTenant' | 'naive', Spread>
    /** queryAsTenant over pool.query when both run with cached generic plans. */
    generic: Spread
  }[]
  /**
   * How PostgreSQL planned the statements on one default connection (pg_prepared_statements): "custom"
   * means planned again on every execution. Empty where the server does not report it (before 14).
   */
  readonly planCache: readonly { statement: string; customPlans: number; genericPlans: number }[]
}

type Operation = (tenant: BenchTenant) => Promise<unknown[]>

function operations(pool: pg.Pool, genericPool: pg.Pool, limit: number): Record<LibraryVariant, Operation> {
  const values = (tenant: BenchTenant) => [tenant.id, null, limit]
  const list = { name: 'bench_library_items', text: LIST_ITEMS_SQL }
  const plain = { name: 'bench_library_plain', text: LIST_PLAIN_ITEMS_SQL }
  return {
    'pool.query': async (tenant) => (await pool.query({ ...plain, values: values(tenant) })).rows,
    queryAsTenant: async (tenant) =>
      (await queryAsTenant(pool, { tenantId: tenant.id }, { ...list, values: values(tenant) })).rows,
    'pool.query, generic plan': async (tenant) =>
      (await genericPool.query({ ...plain, values: values(tenant) })).rows,
    'queryAsTenant, generic plan': async (tenant) =>
      (
        await queryAsTenant(
          pool,
          { tenantId: tenant.id },
          { ...list, values: values(tenant), genericPlan: true },
        )
      ).rows,
    withTenant: (tenant) =>
      withTenant(
        pool,
        { tenantId: tenant.id },
        async (tx) => (await tx.query({ ...list, values: values(tenant) })).rows,
      ),
    naive: async (tenant) => {
      const client = await pool.connect()
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        await client.query({
          name: 'bench_library_set',
          text: `SELECT set_config('${TENANT_SETTING}', $1, true)`,
          values: [tenant.id],
        })
        const { rows } = await client.query({ ...list, values: values(tenant) })
        await client.query('COMMIT')
        return rows
      } catch (error) {
        broken = error as Error // never hand back a connection in an unknown transaction state
        throw error
      } finally {
        client.release(broken)
      }
    },
  }
}

/** `callers` async loops, each awaiting one operation after the other, for `seconds`. */
async function drive(
  callers: number,
  seconds: number,
  tenants: readonly BenchTenant[],
  operation: Operation,
): Promise<{ operations: number; seconds: number }> {
  let next = 0
  let done = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        await operation(tenants[next++ % tenants.length]!)
        done += 1
      }
    }),
  )
  return { operations: done, seconds: (performance.now() - started) / 1000 }
}

/**
 * One level down, no HTTP: the library's paths against a plain pool.query of the no-RLS copy, same
 * rows, same pool (the server's pool size), in this process. The pure cost of the context and RLS.
 */
export async function runLibraryPhase(context: BenchContext): Promise<LibraryPhaseResult> {
  const { options, log } = context
  const pool = new pg.Pool({ connectionString: context.appUrl, max: options.poolSize })
  // The route's statement is planned again on every run by default (see RESULTS.md): these
  // connections cache one generic plan instead, for both sides alike.
  const genericPool = new pg.Pool({
    connectionString: context.appUrl,
    max: options.poolSize,
    options: '-c plan_cache_mode=force_generic_plan',
  })
  for (const p of [pool, genericPool]) p.on('error', () => undefined)
  const ops = operations(pool, genericPool, options.pageSize)
  const tenants = context.hotTenants
  const measurements: LibraryMeasurement[] = []
  let planCache: LibraryPhaseResult['planCache'] = []
  try {
    for (const tenant of tenants.slice(0, 10)) {
      const expected = await ops['pool.query'](tenant)
      for (const variant of LIBRARY_VARIANTS) {
        if (!isDeepStrictEqual(await ops[variant](tenant), expected)) {
          throw new Error(`library: ${variant} returns other rows than pool.query for tenant ${tenant.id}`)
        }
      }
    }
    for (const variant of LIBRARY_VARIANTS) {
      await drive(Math.max(...options.libraryCallers), options.librarySeconds / 2, tenants, ops[variant])
    }
    for (let round = 1; round <= options.libraryRounds; round++) {
      for (const [index, callers] of options.libraryCallers.entries()) {
        for (const variant of rotate(LIBRARY_VARIANTS, round + index)) {
          const postgresBefore = await context.postgresCpu.sample()
          const appBefore = process.cpuUsage()
          const run = await drive(callers, options.librarySeconds, tenants, ops[variant])
          const app = process.cpuUsage(appBefore)
          const postgres = cpuBetween(postgresBefore, await context.postgresCpu.sample())
          const perSecond = run.operations / run.seconds
          const cpu = {
            appUs: (app.user + app.system) / run.operations,
            postgresUs: postgres === undefined ? undefined : (postgres / run.operations) * 1e6,
          }
          measurements.push({ round, callers, variant, ...run, perSecond, cpu })
          log(
            `library round ${round}/${options.libraryRounds} callers=${String(callers).padEnd(3)} ${variant.padEnd(27)} ${perSecond.toFixed(0).padStart(6)} queries/s${describeCpu(cpu)}`,
          )
        }
      }
    }
    planCache = await readPlanCache(pool)
  } finally {
    await Promise.all([pool.end(), genericPool.end()])
  }
  const ratios = options.libraryCallers.map((callers) => {
    const ratio = (variant: LibraryVariant, baseline: LibraryVariant = 'pool.query') =>
      spreadOf(
        [...new Set(measurements.map((m) => m.round))].flatMap((round) => {
          const find = (v: LibraryVariant) =>
            measurements.find((m) => m.round === round && m.callers === callers && m.variant === v)
          const base = find(baseline)
          const other = find(variant)
          return base && other && base.perSecond > 0 ? [other.perSecond / base.perSecond] : []
        }),
      )
    return {
      callers,
      ratio: {
        queryAsTenant: ratio('queryAsTenant'),
        withTenant: ratio('withTenant'),
        naive: ratio('naive'),
      },
      generic: ratio('queryAsTenant, generic plan', 'pool.query, generic plan'),
    }
  })
  return { poolSize: options.poolSize, measurements, ratios, planCache }
}

async function readPlanCache(pool: pg.Pool): Promise<LibraryPhaseResult['planCache']> {
  const client = await pool.connect()
  try {
    const { rows } = await client.query<{ name: string; custom_plans: string; generic_plans: string }>(
      `SELECT name, custom_plans, generic_plans FROM pg_prepared_statements
        WHERE name IN ('bench_library_items', 'bench_library_plain') ORDER BY name`,
    )
    return rows.map((row) => ({
      statement:
        row.name === 'bench_library_items' ? 'GET /items/ statement (RLS)' : 'baseline statement (no RLS)',
      customPlans: Number(row.custom_plans),
      genericPlans: Number(row.generic_plans),
    }))
  } catch {
    return [] // PostgreSQL before 14 has no plan counters
  } finally {
    client.release()
  }
}
