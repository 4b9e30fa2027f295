import { isDeepStrictEqual } from 'node:util'
import pg from 'pg'
import { queryAsTenant, TENANT_SETTING, withTenant } from '@rowfence/core'
import type { BenchTenant } from '../dataset.ts'
import { rotate } from '../scenarios.ts'
import { spreadOf, type Spread } from '../stats.ts'
import type { BenchContext } from './bench-context.ts'
import { LIST_ITEMS_SQL, LIST_PLAIN_ITEMS_SQL } from './statements.ts'

export const LIBRARY_VARIANTS = ['pool.query', 'queryAsTenant', 'withTenant', 'naive'] as const
export type LibraryVariant = (typeof LIBRARY_VARIANTS)[number]

export const LIBRARY_DESCRIPTIONS: Record<LibraryVariant, string> = {
  'pool.query': 'plain `pool.query` on the no-RLS copy, tenant in WHERE (baseline)',
  queryAsTenant: 'the single-query path: set_config + query in one Sync group',
  withTenant: 'withTenant: BEGIN + set_config + query pipelined, then COMMIT',
  naive: 'BEGIN, set_config, query, COMMIT: four awaited round trips',
}

export interface LibraryMeasurement {
  readonly round: number
  readonly callers: number
  readonly variant: LibraryVariant
  readonly operations: number
  readonly seconds: number
  readonly perSecond: number
}

export interface LibraryPhaseResult {
  readonly poolSize: number
  readonly measurements: readonly LibraryMeasurement[]
  /** Per caller count: each variant's throughput over pool.query's, one ratio per round. */
  readonly ratios: readonly {
    callers: number
    ratio: Record<Exclude<LibraryVariant, 'pool.query'>, Spread>
  }[]
}

type Operation = (tenant: BenchTenant) => Promise<unknown[]>

function operations(pool: pg.Pool, limit: number): Record<LibraryVariant, Operation> {
  const values = (tenant: BenchTenant) => [tenant.id, null, limit]
  const list = { name: 'bench_library_items', text: LIST_ITEMS_SQL }
  return {
    'pool.query': async (tenant) =>
      (await pool.query({ name: 'bench_library_plain', text: LIST_PLAIN_ITEMS_SQL, values: values(tenant) }))
        .rows,
    queryAsTenant: async (tenant) =>
      (await queryAsTenant(pool, { tenantId: tenant.id }, { ...list, values: values(tenant) })).rows,
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
  pool.on('error', () => undefined)
  const ops = operations(pool, options.pageSize)
  const tenants = context.hotTenants
  const measurements: LibraryMeasurement[] = []
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
          const run = await drive(callers, options.librarySeconds, tenants, ops[variant])
          const perSecond = run.operations / run.seconds
          measurements.push({ round, callers, variant, ...run, perSecond })
          log(
            `library round ${round}/${options.rounds} callers=${String(callers).padEnd(3)} ${variant.padEnd(14)} ${perSecond.toFixed(0).padStart(6)} queries/s`,
          )
        }
      }
    }
  } finally {
    await pool.end()
  }
  const ratios = options.libraryCallers.map((callers) => {
    const ratio = (variant: LibraryVariant) =>
      spreadOf(
        [...new Set(measurements.map((m) => m.round))].flatMap((round) => {
          const find = (v: LibraryVariant) =>
            measurements.find((m) => m.round === round && m.callers === callers && m.variant === v)
          const base = find('pool.query')
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
    }
  })
  return { poolSize: options.poolSize, measurements, ratios }
}
