/**
 * `npm run bench:signed`: what the signed context (docs/signed-context.md) costs. Two databases on one
 * temporary PostgreSQL, the same generated schema (tenants, items with a tenant floor) and data, one
 * with plain context functions and one verifying the signed value. 50 callers run `queryAsTenant`
 * (one tenant's 10 items) in interleaved rounds: no RLS (a copy of the table without RLS, tenant in
 * WHERE), plain context, signed context. Prints the medians and ratios, per round.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import pg from 'pg'
import { defineContextConfig, queryAsTenant, type TenantContextConfig } from '@rowfence/core'
import { addContextKey, migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { connectionUrl, startTemporaryPostgres } from '@rowfence/tools'
import { median } from './stats.ts'

const CALLERS = 50
const ROUNDS = Number(process.env['SIGNED_BENCH_ROUNDS'] ?? 5)
const SECONDS = Number(process.env['SIGNED_BENCH_SECONDS'] ?? 2)
const TENANTS = 200
const ITEMS = 100

const tenants = tenantsTable('tenants', { columns: { id: uuid().primaryKey(), name: text().notNull() } })
const items = tenantTable('items', {
  columns: { id: uuid().primaryKey().defaultRandom(), title: text().notNull() },
  indexes: [['title']],
})
const key = { id: 'bench', secret: randomBytes(32).toString('hex') }
const signing = defineContextConfig({ signing: { key } })

const server = await startTemporaryPostgres({ label: 'signed-bench', settings: { max_connections: 200 } })
const log = (line: string) => void process.stderr.write(`[bench:signed] ${line}\n`)
try {
  const admin = new pg.Pool({ connectionString: server.adminUrl, max: 2 })
  await admin.query(`CREATE ROLE rowfence_app LOGIN PASSWORD 'app'`)
  const ids = Array.from({ length: TENANTS }, () => randomUUID())
  const pools: Record<'plain' | 'signed', pg.Pool> = {} as never
  for (const mode of ['plain', 'signed'] as const) {
    await admin.query(`CREATE DATABASE bench_${mode}`)
    const owner = new pg.Pool({
      connectionString: connectionUrl({
        user: 'postgres',
        password: server.superuserPassword,
        port: server.port,
        database: `bench_${mode}`,
      }),
      max: 2,
    })
    const schema = rowfenceSchema({
      tables: [tenants, items],
      appRole: 'rowfence_app',
      context: { signed: mode === 'signed' },
    })
    await migrate(owner, { migrations: [migrationFrom('0001', renderSchema(schema))] })
    // The superuser bypasses RLS: load directly, and a no-RLS copy for the baseline.
    await owner.query(`INSERT INTO tenants (id, name) SELECT id, id::text FROM unnest($1::uuid[]) id`, [ids])
    await owner.query(
      `INSERT INTO items (tenant_id, title) SELECT t, 'item ' || n FROM unnest($1::uuid[]) t, generate_series(1, $2) n`,
      [ids, ITEMS],
    )
    await owner.query(`CREATE TABLE plain_items AS SELECT * FROM items; ALTER TABLE plain_items ADD PRIMARY KEY (tenant_id, id);
      GRANT SELECT ON plain_items TO rowfence_app; ANALYZE`)
    if (mode === 'signed') await addContextKey(owner, key)
    await owner.end()
    pools[mode] = new pg.Pool({
      connectionString: connectionUrl({
        user: 'rowfence_app',
        password: 'app',
        port: server.port,
        database: `bench_${mode}`,
      }),
      max: 20,
    })
  }
  await admin.end()

  const sql = 'SELECT id, title FROM items ORDER BY title LIMIT 10'
  const variants: Record<string, (tenantId: string) => Promise<number>> = {
    'no RLS': async (t) =>
      (
        await pools.plain.query(
          'SELECT id, title FROM plain_items WHERE tenant_id = $1 ORDER BY title LIMIT 10',
          [t],
        )
      ).rows.length,
    plain: async (t) => (await queryAsTenant(pools.plain, { tenantId: t }, sql)).rows.length,
    signed: async (t) =>
      (
        await queryAsTenant(pools.signed, { tenantId: t }, sql, [], {
          contextConfig: signing as TenantContextConfig,
        })
      ).rows.length,
  }
  for (const [name, run] of Object.entries(variants)) {
    if ((await run(ids[0]!)) !== 10) throw new Error(`${name}: expected 10 rows`)
  }
  // A forged value sees nothing (sanity: the signed database really verifies).
  const forgedKey = defineContextConfig({
    signing: { key: { id: 'bench', secret: randomBytes(32).toString('hex') } },
  })
  const forged = await queryAsTenant(pools.signed, { tenantId: ids[0]! }, sql, [], {
    contextConfig: forgedKey,
  })
  if (forged.rows.length !== 0) throw new Error('a forged signed context saw rows')

  const drive = async (run: (t: string) => Promise<number>): Promise<number> => {
    let next = 0
    let done = 0
    const deadline = performance.now() + SECONDS * 1000
    const started = performance.now()
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (performance.now() < deadline) {
          await run(ids[next++ % ids.length]!)
          done++
        }
      }),
    )
    return done / ((performance.now() - started) / 1000)
  }
  const names = Object.keys(variants)
  for (const name of names) await drive(variants[name]!) // warm-up
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names.map((_, i) => names[(i + round) % names.length]!)) {
      perRound[name]!.push(await drive(variants[name]!))
    }
    log(`round ${round + 1}: ${names.map((n) => `${n} ${perRound[n]!.at(-1)!.toFixed(0)}/s`).join(', ')}`)
  }
  const ratio = (a: string, b: string) => median(perRound[a]!.map((value, i) => value / perRound[b]![i]!))
  console.log(
    [
      `queryAsTenant, ${CALLERS} callers, ${ROUNDS} rounds of ${SECONDS} s (medians):`,
      ...names.map((n) => `  ${n.padEnd(7)} ${median(perRound[n]!).toFixed(0)}/s`),
      `  signed / plain   ${ratio('signed', 'plain').toFixed(3)}×`,
      `  signed / no RLS  ${ratio('signed', 'no RLS').toFixed(3)}×`,
      `  plain / no RLS   ${ratio('plain', 'no RLS').toFixed(3)}×`,
    ].join('\n'),
  )
  for (const pool of Object.values(pools)) await pool.end()
} finally {
  await server.stop()
}
