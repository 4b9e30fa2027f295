/**
 * `npm run bench:citus`: the demo's GET /items/ on a 3-node loopback Citus cluster against the same app on
 * a single PostgreSQL 15 node, in one run, and the router-vs-fan-out cost of a query that omits tenant_id.
 * Skips (exit 0) when Citus is not installed. Load comes from the built-in generator in this process, so
 * the figures are for comparing the two setups on the same machine, not for publishing as throughput.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createTenantDatabase, type ContextMode } from '@rowfence/core'
import { migrate, provisionDatabase } from '@rowfence/core/migrate'
import {
  APP_ROLE,
  buildApp,
  itemsDemo,
  OWNER_ROLE,
  plainContextMigrations,
  provisionCitusDemo,
  seedDemo,
  signToken,
} from '@rowfence/demo'
import { CITUS_INSTALL_HINT, CitusCluster, findCitus } from '@rowfence/tools'
import { nodeGenerator } from './load/node-load.ts'
import type { LoadResult } from './load/load-types.ts'

const seconds = Number(process.env['BENCH_CITUS_SECONDS'] ?? 10)
const connections = Number(process.env['BENCH_CITUS_CONNECTIONS'] ?? 8)
const secret = randomBytes(32).toString('hex')
const log = (line: string): void => void process.stderr.write(`${line}\n`)

/** The demo on a single PostgreSQL 15 node (the Citus library loaded, the database without the extension). */
async function singleNode(cluster: CitusCluster): Promise<string> {
  const owner = { role: OWNER_ROLE, password: randomBytes(16).toString('hex') }
  const app = { role: APP_ROLE, password: randomBytes(16).toString('hex') }
  const admin = new pg.Client(cluster.adminUrl())
  await admin.connect()
  try {
    await provisionDatabase(admin, {
      ownerRole: owner.role,
      ownerPassword: owner.password,
      appRole: app.role,
      appPassword: app.password,
      database: 'rowfence',
      extraRoles: [
        { role: 'rowfence_admin', password: randomBytes(16).toString('hex') },
        { role: 'rowfence_auth', password: randomBytes(16).toString('hex') },
      ],
    })
  } finally {
    await admin.end()
  }
  const pool = new pg.Pool({ connectionString: cluster.url(owner, 'rowfence'), max: 2 })
  try {
    await migrate(pool, { migrations: await plainContextMigrations() })
    await seedDemo(pool)
  } finally {
    await pool.end()
  }
  return cluster.url(app, 'rowfence')
}

async function loadItems(appUrl: string, contextMode: ContextMode): Promise<LoadResult> {
  const pool = new pg.Pool({ connectionString: appUrl, max: connections })
  const server = await buildApp({
    db: createTenantDatabase(pool, { contextMode }),
    jwtSecret: secret,
    logger: false,
  })
  try {
    await server.listen({ host: '127.0.0.1', port: 0 })
    const address = server.server.address()
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const requests = await Promise.all(
      itemsDemo.tenants.map(async (tenant) => ({
        path: '/items/',
        authorization: `Bearer ${await signToken({ secret, tenantId: tenant.id, subject: 'bench', expiresIn: '1h' })}`,
      })),
    )
    const generator = nodeGenerator()
    await generator.run({ origin, requests, connections, seconds: 2 })
    return await generator.run({ origin, requests, connections, seconds })
  } finally {
    await server.close()
    await pool.end()
  }
}

/** Mean milliseconds of `runs` sequential single-statement requests as one tenant. */
async function meanMs(appUrl: string, text: string, values: unknown[], runs = 300): Promise<number> {
  const pool = new pg.Pool({ connectionString: appUrl, max: 1 })
  const db = createTenantDatabase(pool, { contextMode: 'set-local' })
  const tenant = { tenantId: itemsDemo.tenants[0]!.id }
  try {
    for (let i = 0; i < 20; i++) await db.queryAsTenant(tenant, text, values)
    const started = performance.now()
    for (let i = 0; i < runs; i++) await db.queryAsTenant(tenant, text, values)
    return (performance.now() - started) / runs
  } finally {
    await pool.end()
  }
}

const bin = await findCitus()
if (!bin) {
  log(`bench:citus skipped. ${CITUS_INSTALL_HINT}`)
  process.exit(0)
}
log('starting a Citus cluster (coordinator + 2 workers) and a single PostgreSQL 15 node ...')
const [cluster, single] = await Promise.all([
  CitusCluster.start({ bin }),
  CitusCluster.start({ bin, workers: 0 }),
])
try {
  const citusDemo = await provisionCitusDemo(cluster)
  const singleUrl = await singleNode(single)
  log(`GET /items/ for ${seconds} s each, ${connections} connections ...`)
  const onSingle = await loadItems(singleUrl, 'set-config')
  const onCitus = await loadItems(citusDemo.appUrl, 'set-local')
  const select = `SELECT id, title FROM items`
  const routed = await meanMs(citusDemo.appUrl, `${select} WHERE tenant_id = $1 ORDER BY title LIMIT 20`, [
    itemsDemo.tenants[0]!.id,
  ])
  const fanOut = await meanMs(citusDemo.appUrl, `${select} ORDER BY title LIMIT 20`, [])
  const row = (name: string, result: LoadResult): string =>
    `| ${name} | ${result.requestsPerSecond.toFixed(0)} | ${result.latency.p50.toFixed(2)} | ${result.latency.p99.toFixed(2)} | ${result.errors} |`
  const lines = [
    `| GET /items/ (${connections} connections, ${seconds} s) | req/s | p50 ms | p99 ms | errors |`,
    '|---|---|---|---|---|',
    row('single PostgreSQL 15 node (set-config)', onSingle),
    row('Citus 3 nodes on loopback (set-local)', onCitus),
    '',
    `Citus / single node throughput: ${(onCitus.requestsPerSecond / onSingle.requestsPerSecond).toFixed(2)}`,
    '',
    '| one tenant, one statement on Citus (set-local, sequential) | mean ms |',
    '|---|---|',
    `| router: WHERE tenant_id = $1 (1 shard) | ${routed.toFixed(2)} |`,
    `| fan-out: no tenant_id, RLS filters (32 shards) | ${fanOut.toFixed(2)} |`,
    '',
    `fan-out / router: ${(fanOut / routed).toFixed(1)}x`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  await Promise.all([cluster.stop(), single.stop()])
}
