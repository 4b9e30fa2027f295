/**
 * `npm run soak -- --requests 1000000 --tenants 200 [--concurrency 32] [--pooler [--pgbouncer BIN]]
 *  [--max-seconds S]`
 *
 * Starts a throwaway PostgreSQL, provisions and seeds the demo database with `tenants` extra tenants,
 * starts the demo server as its own process (behind PgBouncer in transaction mode with the pooler mode
 * when --pooler is given) and drives GET /items/ with every tenant's token in turn, checking that each
 * body holds rows and only rows of the caller's tenant. Prints the figures; exits 1 on any foreign row,
 * empty body or error. --max-seconds stops early (the figures then say how many requests were made).
 */
import { parseArgs } from 'node:util'
import { startTemporaryPostgres } from '@rowfence/tools'
import { createDemoDatabase } from '../test/faults/support/demo-database.ts'
import { itemTargets, runLoad, summary } from '../test/faults/support/load.ts'
import { PgBouncer, pgbouncerVersion } from '../test/faults/support/pgbouncer.ts'
import { DemoServer } from '../test/faults/support/server.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    tenants: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    pooler: { type: 'boolean', default: false },
    pgbouncer: { type: 'string', default: process.env['ROWFENCE_PGBOUNCER'] || '/usr/sbin/pgbouncer' },
    'pool-size': { type: 'string', default: '20' },
    'max-seconds': { type: 'string' },
  },
})
const requests = Number(values.requests)
const tenantCount = Number(values.tenants)
const concurrency = Number(values.concurrency)
const maxSeconds = values['max-seconds'] ? Number(values['max-seconds']) : undefined

const log = (line: string) => process.stderr.write(`${line}\n`)
const postgres = await startTemporaryPostgres({ label: 'soak', settings: { max_connections: 200 } })
let bouncer: PgBouncer | undefined
let server: DemoServer | undefined
let failed = true
try {
  log(`seeding ${tenantCount} tenants ...`)
  const db = await createDemoDatabase({ adminUrl: postgres.adminUrl, port: postgres.port, tenantCount })
  let appUrl = db.appUrl
  let via = 'direct'
  if (values.pooler) {
    const version = await pgbouncerVersion(values.pgbouncer)
    if (!version) throw new Error(`no PgBouncer at ${values.pgbouncer}`)
    bouncer = await PgBouncer.start({
      bin: values.pgbouncer,
      serverPort: postgres.port,
      users: [{ user: db.appRole, password: db.appPassword }],
      poolSize: 8,
    })
    appUrl = bouncer.rewrite(db.appUrl)
    via = `PgBouncer ${version.join('.')} transaction mode, pooler mode`
  }
  server = await DemoServer.start({
    DATABASE_URL: db.ownerUrl,
    APP_DATABASE_URL: appUrl,
    ROWFENCE_JWT_SECRET: db.jwtSecret,
    ROWFENCE_CONTEXT_KEY: db.contextKey,
    ROWFENCE_POOLER_MODE: values.pooler ? '1' : '0',
    PG_POOL_SIZE: values['pool-size'],
    ...(values.pooler ? { PG_STATEMENT_TIMEOUT_MS: '0', PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '0' } : {}),
  })
  log(`driving ${requests} requests over ${tenantCount} tenants, ${concurrency} connections, ${via} ...`)
  const deadline = maxSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + maxSeconds * 1000
  const result = await runLoad({
    url: server.url,
    targets: itemTargets(db.tenants),
    concurrency,
    requests,
    stop: () => Date.now() > deadline,
    onProgress: (done) => {
      if (done % 100_000 === 0) log(`  ${done} requests`)
    },
  })
  const figures = { via, tenants: tenantCount, concurrency, ...summary(result), serverAlive: server.running }
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
  const errors = result.requests - result.ok - result.foreign - result.empty
  failed = result.foreign > 0 || result.empty > 0 || errors > 0 || !server.running
} finally {
  await server?.stop()
  await bouncer?.stop()
  await postgres.stop()
}
process.exitCode = failed ? 1 : 0
