/**
 * `npm run bench:signed`: what the signed context (docs/signed-context.md) costs. Two databases on one
 * temporary PostgreSQL, the same generated schema (tenants, items with a tenant floor) and data, one
 * with plain context functions and one verifying the signed value. 50 callers run `queryAsTenant`
 * (one tenant's 10 items) in interleaved rounds: no RLS (a copy of the table without RLS, tenant in
 * WHERE), plain context, signed context. Prints the medians and ratios, per round; then the same three
 * behind HTTP (node:http, wrk); then where the signed context's cost goes (PostgreSQL CPU per
 * verification statement).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import pg from 'pg'
import { defineContextConfig, queryAsTenant, withTenant, type TenantContextConfig } from '@rowfence/core'
import { addContextKey, migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { connectionUrl, startTemporaryPostgres, type TemporaryPostgres } from '@rowfence/tools'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { wrkGenerator, ensureWrk } from './load/wrk.ts'
import { processCpu } from './cpu.ts'
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
      CREATE INDEX ON plain_items (tenant_id, title);
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
    // The server stops at the end while idle connections are open: not an error worth a crash.
    pools[mode].on('error', () => {})
  }
  await admin.end()

  // Named statements, as an app (and the demo) sends them: parsed once per connection, and the plan
  // advisor runs the RLS ones on their cached generic plan, like the baseline's.
  const sql = 'SELECT id, title FROM items WHERE tenant_id = $1 ORDER BY title LIMIT 10'
  const statement = (t: string) => ({ name: 'bench_signed_items', text: sql, values: [t] })
  const variants: Record<string, (tenantId: string) => Promise<unknown[]>> = {
    'no RLS': async (t) =>
      (
        await pools.plain.query({
          name: 'bench_signed_plain_items',
          text: 'SELECT id, title FROM plain_items WHERE tenant_id = $1 ORDER BY title LIMIT 10',
          values: [t],
        })
      ).rows,
    plain: async (t) => (await queryAsTenant(pools.plain, { tenantId: t }, statement(t))).rows,
    signed: async (t) =>
      (
        await queryAsTenant(pools.signed, { tenantId: t }, statement(t), undefined, {
          contextConfig: signing as TenantContextConfig,
        })
      ).rows,
  }
  for (const [name, run] of Object.entries(variants)) {
    if ((await run(ids[0]!)).length !== 10) throw new Error(`${name}: expected 10 rows`)
  }
  // A forged value sees nothing (sanity: the signed database really verifies).
  const forgedKey = defineContextConfig({
    signing: { key: { id: 'bench', secret: randomBytes(32).toString('hex') } },
  })
  const forged = await queryAsTenant(pools.signed, { tenantId: ids[0]! }, statement(ids[0]!), undefined, {
    contextConfig: forgedKey,
  })
  if (forged.rows.length !== 0) throw new Error('a forged signed context saw rows')

  const drive = async (run: (t: string) => Promise<unknown>): Promise<number> => {
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
  console.log(await httpRatios(variants, ids))
  console.log(await verificationCost(server, pools.signed, signing as TenantContextConfig, ids[0]!))
  for (const pool of Object.values(pools)) await pool.end()
} finally {
  await server.stop()
}

/**
 * Where the signed context's cost goes: PostgreSQL CPU per statement (read from /proc for one backend,
 * so machine noise hardly moves it) for statements that do only the verification, inside one signed
 * transaction, against `SELECT 1`. The last two, run as the owner (the app role cannot read the key
 * table), are the floor of any verification written in SQL: the key row and the HMAC alone.
 */
async function verificationCost(
  server: TemporaryPostgres,
  app: pg.Pool,
  contextConfig: TenantContextConfig,
  tenantId: string,
): Promise<string> {
  const N = Number(process.env['SIGNED_BENCH_STATEMENTS'] ?? 8000)
  let value = ''
  await withTenant(
    app,
    { tenantId },
    async (tx) => {
      value = (await tx.query<{ v: string }>(`SELECT current_setting('rowfence.context') AS v`)).rows[0]!.v
    },
    { contextConfig },
  )
  const owner = new pg.Client(
    connectionUrl({
      user: 'postgres',
      password: server.superuserPassword,
      port: server.port,
      database: 'bench_signed',
    }),
  )
  await owner.connect()
  const client = await app.connect()
  const v = `current_setting('rowfence.context', true)`
  const statements: [string, pg.ClientBase, string][] = [
    ['SELECT 1 (reference)', client, 'SELECT 1'],
    ['SELECT rowfence.current_tenant_id()', client, 'SELECT rowfence.current_tenant_id()'],
    ['SELECT rowfence.verified_context()', client, 'SELECT rowfence.verified_context()'],
    [
      'key row only (owner)',
      owner,
      `SELECT (SELECT 1 FROM rowfence.context_keys k WHERE k.id = split_part(${v}, '.', 2))`,
    ],
    [
      'key row + HMAC (owner)',
      owner,
      `SELECT (SELECT 1 FROM rowfence.context_keys k WHERE k.id = split_part(${v}, '.', 2)
         AND encode(sha256(k.opad || sha256(k.ipad || convert_to(left(${v}, -65), 'UTF8'))), 'hex') = right(${v}, 64))`,
    ],
  ]
  const pids = new Map<pg.ClientBase, number>()
  for (const c of [client, owner]) {
    await c.query('BEGIN')
    await c.query(`SELECT set_config('rowfence.context', $1, true)`, [value])
    pids.set(c, (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)
  }
  const perStatement: Record<string, number[]> = Object.fromEntries(statements.map(([label]) => [label, []]))
  for (let round = 0; round < 4; round++) {
    for (const [label, c, text] of statements) {
      const query = { name: `bench_verify_${statements.findIndex(([l]) => l === label)}`, text }
      const before = processCpu(pids.get(c)!)
      for (let i = 0; i < N; i++) await c.query(query)
      const after = processCpu(pids.get(c)!)
      if (round > 0 && before && after)
        perStatement[label]!.push(((after.seconds - before.seconds) * 1e6) / N)
    }
  }
  for (const c of [client, owner]) await c.query('ROLLBACK')
  client.release()
  await owner.end()
  if (perStatement['SELECT 1 (reference)']!.length === 0)
    return 'PostgreSQL CPU per statement: /proc not readable'
  const reference = median(perStatement['SELECT 1 (reference)']!)
  return [
    `PostgreSQL CPU per statement, one backend, ${N} statements × 3 rounds (medians; over SELECT 1):`,
    ...statements.map(([label]) => {
      const us = median(perStatement[label]!)
      return `  ${label.padEnd(38)} ${us.toFixed(1)} µs  (+${(us - reference).toFixed(1)})`
    }),
  ].join('\n')
}

/**
 * The same three variants behind HTTP: a node:http server in this process answers `GET /<variant>` with
 * the tenant's rows as JSON (the tenant from the Authorization header, one of 200 round-robin), and wrk
 * drives each variant with 50 connections in interleaved rounds. Bodies are compared first.
 */
async function httpRatios(
  variants: Record<string, (tenantId: string) => Promise<unknown[]>>,
  ids: readonly string[],
): Promise<string> {
  const names = Object.keys(variants)
  const routes = new Map(names.map((name) => [`/${name.replace(/ /g, '-')}`, variants[name]!]))
  const http = createServer((request, response) => {
    const run = routes.get(request.url ?? '')
    const tenantId = request.headers.authorization?.slice('Tenant '.length) ?? ''
    if (!run || !ids.includes(tenantId)) {
      response.writeHead(404).end()
      return
    }
    run(tenantId).then(
      (rows) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows)),
      () => response.writeHead(500).end(),
    )
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  try {
    const bodies = await Promise.all(
      [...routes.keys()].map(async (path) =>
        (await fetch(`${origin}${path}`, { headers: { authorization: `Tenant ${ids[0]}` } })).text(),
      ),
    )
    // Same titles (the two databases drew their own item ids).
    const titles = bodies.map((body) =>
      JSON.stringify((JSON.parse(body) as { title: string }[]).map((row) => row.title)),
    )
    if (new Set(titles).size !== 1) throw new Error('bench:signed: the variants answer different rows')
    const wrk = wrkGenerator(await ensureWrk((line) => process.stderr.write(`${line}\n`)), { threads: 2 })
    const requests = ids.map((id) => ({ path: '', authorization: `Tenant ${id}` }))
    const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names.map((_, i) => names[(i + round) % names.length]!)) {
        const path = `/${name.replace(/ /g, '-')}`
        const result = await wrk.run({
          origin,
          requests: requests.map((r) => ({ ...r, path })),
          connections: CALLERS,
          seconds: SECONDS,
        })
        if (result.errors > 0) throw new Error(`bench:signed: ${result.errors} HTTP errors (${name})`)
        perRound[name]!.push(result.requestsPerSecond)
      }
    }
    const ratio = (a: string, b: string) => median(perRound[a]!.map((value, i) => value / perRound[b]![i]!))
    return [
      `HTTP (node:http, JSON), wrk ${CALLERS} connections, ${ROUNDS} rounds of ${SECONDS} s (medians):`,
      ...names.map((n) => `  ${n.padEnd(7)} ${median(perRound[n]!).toFixed(0)} req/s`),
      `  signed / plain   ${ratio('signed', 'plain').toFixed(3)}×`,
      `  signed / no RLS  ${ratio('signed', 'no RLS').toFixed(3)}×`,
      `  plain / no RLS   ${ratio('plain', 'no RLS').toFixed(3)}×`,
    ].join('\n')
  } finally {
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
}
