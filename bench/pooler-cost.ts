/**
 * `node --conditions=@rowfence/source --import tsx bench/pooler-cost.ts [--seconds 4] [--rounds 3]`
 *
 * What the pooler mode costs: the demo's hot statement (GET /items/: context + keyset list in one Sync
 * group) through queryAsTenant, 8 connections, rounds interleaved so that machine noise hits every variant:
 * - named statements + genericPlan (the default on a direct connection / PgBouncer >= 1.21);
 * - pooler mode: unnamed statements (what rowfence sends with { pooler: true });
 * - unnamed statements + plan_cache_mode = force_generic_plan set in the same Sync group (the variant the
 *   pooler mode deliberately does not send).
 */
import { parseArgs } from 'node:util'
import pg from 'pg'
import {
  bindContextConfig,
  contextConfigFor,
  normalizeContextWith,
  parseContextKey,
  PipelinedBatch,
  queryAsTenant,
} from '@rowfence/core'
import { startTemporaryPostgres } from '@rowfence/tools'
import { createDemoDatabase } from '../test/faults/support/demo-database.ts'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' } },
})
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const CONNECTIONS = 8

const listText = `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1 AND ($2::text IS NULL OR title > $2)
         ORDER BY title LIMIT $3`
// The demo schema verifies a signed context: the value the pool's config signs, then the plan mode.
const genericContext = `SELECT set_config($1, $2, true), set_config('plan_cache_mode', 'force_generic_plan', true)`
const contextValues = (pool: pg.Pool, tenantId: string): string[] => {
  const settings = normalizeContextWith({ tenantId }, contextConfigFor(pool, undefined)).settings
  if (settings?.length !== 1) throw new Error('bench: expected one signed context value')
  return [...settings[0]!]
}

type Variant = (pool: pg.Pool, tenantId: string) => Promise<unknown>
const variants: Record<string, Variant> = {
  'named + genericPlan (default)': (pool, tenantId) =>
    queryAsTenant(
      pool,
      { tenantId },
      { name: 'bench_items', text: listText, values: [tenantId, null, 100], genericPlan: true },
    ),
  'pooler mode (unnamed)': (pool, tenantId) =>
    queryAsTenant(
      pool,
      { tenantId },
      { name: 'bench_items', text: listText, values: [tenantId, null, 100] },
      undefined,
      {
        pooler: true,
      },
    ),
  'unnamed + plan_cache_mode in the Sync group': async (pool, tenantId) => {
    const client = await pool.connect()
    try {
      return await PipelinedBatch.run(client, [
        { text: genericContext, values: contextValues(pool, tenantId) },
        { text: listText, values: [tenantId, null, 100] },
      ])
    } finally {
      client.release()
    }
  },
}

const postgres = await startTemporaryPostgres({ label: 'pooler-cost' })
try {
  const db = await createDemoDatabase({ adminUrl: postgres.adminUrl, port: postgres.port, tenantCount: 100 })
  const pool = new pg.Pool({ connectionString: db.appUrl, max: CONNECTIONS })
  // pool.end() resolves before its connections have closed; postgres.stop() right after can terminate one
  // of them, and pg-pool reports that as an 'error' event: harmless here, fatal without a listener.
  pool.on('error', () => undefined)
  bindContextConfig(pool, { signing: { key: parseContextKey(db.contextKey) } })
  const totals: Record<string, { queries: number; ms: number }> = {}
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, run] of Object.entries(variants)) {
        let queries = 0
        const started = performance.now()
        const end = started + seconds * 1000
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async (_, worker) => {
            for (let n = worker; performance.now() < end; n += CONNECTIONS) {
              await run(pool, db.tenants[n % db.tenants.length]!.id)
              queries += 1
            }
          }),
        )
        const total = (totals[name] ??= { queries: 0, ms: 0 })
        total.queries += queries
        total.ms += performance.now() - started
      }
    }
  } finally {
    await pool.end()
  }
  const base = Object.values(totals)[0]!
  const baseRate = base.queries / base.ms
  for (const [name, { queries, ms }] of Object.entries(totals)) {
    const rate = queries / ms
    process.stdout.write(
      `${name.padEnd(48)} ${Math.round(rate * 1000)
        .toString()
        .padStart(6)} queries/s  ${(rate / baseRate).toFixed(2)}\n`,
    )
  }
} finally {
  await postgres.stop()
}
