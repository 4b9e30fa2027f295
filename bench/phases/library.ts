import { isDeepStrictEqual } from 'node:util'
import pg from 'pg'
import { PipelinedBatch, queryAsTenant, TENANT_SETTING, withTenant } from '@rowfence/core'
import type { BenchTenant } from '../dataset.ts'
import { rotate } from '../scenarios.ts'
import { cpuBetween } from '../cpu.ts'
import { spreadOf, type Spread } from '../stats.ts'
import { describeCpu, type BenchContext, type CpuPerRequest } from './bench-context.ts'
import { LIST_ITEMS_SQL, LIST_PLAIN_ITEMS_SQL } from './statements.ts'

export const LIBRARY_VARIANTS = [
  'pool.query',
  'queryAsTenant',
  'queryAsTenant, advisor off',
  'withTenant',
  'plain transaction',
  'naive',
  'pool.query, generic plan',
] as const
export type LibraryVariant = (typeof LIBRARY_VARIANTS)[number]

export const LIBRARY_DESCRIPTIONS: Record<LibraryVariant, string> = {
  'pool.query': 'plain `pool.query` on the no-RLS copy, tenant in WHERE (baseline)',
  queryAsTenant:
    'the single-query path with default options: set_config + query in one Sync group; the plan advisor moves the statement to its cached generic plan',
  'queryAsTenant, advisor off':
    'the same with `genericPlan: false`: PostgreSQL plans the statement for every execution (the default before the advisor)',
  withTenant: 'withTenant with default options: BEGIN + set_config + query pipelined, then COMMIT',
  'plain transaction':
    "withTenant's like-for-like baseline: BEGIN + query pipelined, then COMMIT, on the no-RLS copy (no context, no RLS)",
  naive: 'BEGIN, set_config, query, COMMIT: four awaited round trips',
  'pool.query, generic plan': 'pool.query on connections with plan_cache_mode = force_generic_plan',
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
    ratio: Record<'queryAsTenant' | 'queryAsTenant, advisor off' | 'withTenant' | 'naive', Spread>
    /** withTenant over the plain transaction (same round trips, no context, no RLS). */
    transaction: Spread
    /** queryAsTenant (default options) over pool.query on connections forced to cached generic plans. */
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
  const values = (tenant: BenchTenant) => [tenant.id, limit]
  const list = { name: 'bench_library_items', text: LIST_ITEMS_SQL }
  const listOff = { name: 'bench_library_items_off', text: LIST_ITEMS_SQL, genericPlan: false }
  const plain = { name: 'bench_library_plain', text: LIST_PLAIN_ITEMS_SQL }
  return {
    'pool.query': async (tenant) => (await pool.query({ ...plain, values: values(tenant) })).rows,
    queryAsTenant: async (tenant) =>
      (await queryAsTenant(pool, { tenantId: tenant.id }, { ...list, values: values(tenant) })).rows,
    'queryAsTenant, advisor off': async (tenant) =>
      (await queryAsTenant(pool, { tenantId: tenant.id }, { ...listOff, values: values(tenant) })).rows,
    'pool.query, generic plan': async (tenant) =>
      (await genericPool.query({ ...plain, values: values(tenant) })).rows,
    withTenant: (tenant) =>
      withTenant(
        pool,
        { tenantId: tenant.id },
        async (tx) => (await tx.query({ ...list, values: values(tenant) })).rows,
      ),
    'plain transaction': async (tenant) => {
      const client = await pool.connect()
      let broken: Error | undefined
      try {
        const [, result] = await PipelinedBatch.run(client, [
          { text: 'BEGIN' },
          { ...plain, values: values(tenant) },
        ])
        await client.query('COMMIT')
        return result!.rows
      } catch (error) {
        broken = error as Error
        throw error
      } finally {
        client.release(broken)
      }
    },
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
        // Its own name: the plan counters of the rowfence statement stay its own.
        const { rows } = await client.query({
          ...list,
          name: 'bench_library_items_naive',
          values: values(tenant),
        })
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
        'queryAsTenant, advisor off': ratio('queryAsTenant, advisor off'),
        withTenant: ratio('withTenant'),
        naive: ratio('naive'),
      },
      transaction: ratio('withTenant', 'plain transaction'),
      generic: ratio('queryAsTenant', 'pool.query, generic plan'),
    }
  })
  return { poolSize: options.poolSize, measurements, ratios, planCache }
}

async function readPlanCache(pool: pg.Pool): Promise<LibraryPhaseResult['planCache']> {
  const client = await pool.connect()
  try {
    const { rows } = await client.query<{ name: string; custom_plans: string; generic_plans: string }>(
      `SELECT name, custom_plans, generic_plans FROM pg_prepared_statements
        WHERE name IN ('bench_library_items', 'bench_library_items_off', 'bench_library_plain') ORDER BY name`,
    )
    const labels: Record<string, string> = {
      bench_library_items: 'GET /items/ statement (RLS), default options',
      bench_library_items_off: 'GET /items/ statement (RLS), advisor off',
      bench_library_plain: 'baseline statement (no RLS)',
    }
    return rows.map((row) => ({
      statement: labels[row.name] ?? row.name,
      customPlans: Number(row.custom_plans),
      genericPlans: Number(row.generic_plans),
    }))
  } catch {
    return [] // PostgreSQL before 14 has no plan counters
  } finally {
    client.release()
  }
}
