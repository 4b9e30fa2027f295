import pg from 'pg'
import { randomUUID } from 'node:crypto'
import {
  bindContextConfig,
  createTenantDatabase,
  type TenantContextConfig,
  type TenantDatabase,
} from '@rowfence/core'
import { addContextKey, loadMigrations, migrate } from '@rowfence/core/migrate'
import { parseCommandArgs, type Command, type CommandIo } from '@rowfence/cli'
import { buildApp } from '../app.ts'
import { signToken } from '../auth/token.ts'
import { demoMigrationsDir } from '../migrations-dir.ts'
import { DEMO_OPERATOR, DEMO_PASSWORD, itemsDemo, seedDemo, type SeedCounts } from '../seed.ts'
import { startCitusEnvironment } from './citus.ts'
import type { DatabaseEnvironment } from './embedded.ts'
import { openDatabaseEnvironment } from './environment.ts'
import { contextKey, jwtSecret, rowfenceHome } from './home.ts'
import { readSettings } from './settings.ts'

const TRUST_HEADER_WARNING = `
!!! INSECURE DEMO MODE: ROWFENCE_TRUST_TENANT_HEADER=1 !!!
!!! Any client can act as any tenant by sending "X-Tenant-Id: <uuid>". Never use this in production. !!!
`

function describeSeed(seeded: SeedCounts): string {
  return (
    `seeded ${seeded.tenants} tenant(s), ${seeded.items} item(s), ${seeded.users} user(s), ` +
    `${seeded.articles} article(s), ${seeded.operators} operator(s)`
  )
}

async function printWelcome(io: CommandIo, url: string, secret: string, trustHeader: boolean): Promise<void> {
  const tokens = await Promise.all(
    itemsDemo.tenants.map(async (tenant) => ({
      tenant,
      token: await signToken({
        secret,
        tenantId: tenant.id,
        subject: `demo:${tenant.name}`,
        expiresIn: '12h',
      }),
    })),
  )
  const lines = [
    '',
    `rowfence demo is running at ${url}`,
    `  API docs:  ${url}/docs      OpenAPI: ${url}/openapi.json`,
    '',
    'Demo tenants and API tokens (valid 12h; new ones: npm run -s token -- --tenant <id>):',
  ]
  for (const { tenant, token } of tokens) {
    lines.push(`  ${tenant.name.padEnd(22)} ${tenant.id}`, `    ${token}`)
  }
  lines.push('', 'Try:', `  curl -H "Authorization: Bearer ${tokens[0]?.token}" ${url}/items/`)
  if (trustHeader) lines.push(`  curl --header "X-tenant-id: ${itemsDemo.tenants[0]?.id}" ${url}/items/`)
  lines.push(
    '',
    `Web app: ${url}/login  tenant alpha|bravo|charlie, user <tenant>-0|1|2 (e.g. alpha-0), password ${DEMO_PASSWORD}`,
    `Admin:   ${url}/admin/login  operator ${DEMO_OPERATOR.name}, password ${DEMO_OPERATOR.password}`,
    `API token from credentials:`,
    `  curl -X POST -H 'content-type: application/json' -d '{"tenant":"alpha","user":"alpha-0","password":"${DEMO_PASSWORD}"}' ${url}/api/tokens`,
  )
  lines.push('', 'Ctrl-C stops the server and PostgreSQL.', '')
  io.out(lines.join('\n'))
}

/**
 * The app role's pool: a bounded wait for a free connection (then 503 ROWFENCE_DATABASE_BUSY), and
 * statement_timeout / idle_in_transaction_session_timeout sent as connection parameters so that a stuck
 * statement or an abandoned transaction cannot pin a connection. Behind PgBouncer, which refuses unknown
 * startup parameters, set them to 0 here and on the role instead (ALTER ROLE ... SET).
 */
function appSessionSettings(settings: ReturnType<typeof readSettings>): pg.PoolConfig {
  return {
    connectionTimeoutMillis: settings.connectTimeoutMs,
    ...(settings.statementTimeoutMs > 0 ? { statement_timeout: settings.statementTimeoutMs } : {}),
    ...(settings.idleInTransactionTimeoutMs > 0
      ? { idle_in_transaction_session_timeout: settings.idleInTransactionTimeoutMs }
      : {}),
  }
}

/**
 * Stops taking requests and lets the in-flight ones finish: the listening socket closes at once, idle
 * kept-alive sockets are closed, requests arriving on busy sockets get 503, and after `timeoutMs` the
 * sockets still open are cut so that shutdown is bounded.
 */
async function drain(
  app: Awaited<ReturnType<typeof buildApp>>,
  timeoutMs: number,
  io: CommandIo,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      io.err(`requests still running after ${timeoutMs} ms: closing their connections`)
      app.server.closeAllConnections()
      resolve()
    }, timeoutMs)
  })
  try {
    await Promise.race([app.close(), deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A signed context that the database does not verify makes every tenant request see nothing (fail
 * closed): say so at startup rather than serve empty lists. One statement as an unknown tenant.
 */
async function warnUnlessKeyVerifies(db: TenantDatabase, keyId: string, io: CommandIo): Promise<void> {
  try {
    const { rows } = await db.queryAsTenant<{ verified: boolean }>(
      { tenantId: randomUUID() },
      'SELECT rowfence.current_tenant_id() IS NOT NULL AS verified',
    )
    if (rows[0]?.verified) return
    io.err(
      `warning: the database does not verify the tenant context signed with key ${keyId}: every tenant ` +
        'request will see nothing. Install the key as the owner (ROWFENCE_CONTEXT_KEY=<id>:<secret> ' +
        'rowfence keys --add) and check that migration 0007 (the signed context) is applied.',
    )
  } catch (error) {
    io.err(`warning: could not check the context key: ${(error as Error).message}`)
  }
}

/** Runs until SIGINT/SIGTERM, then closes the server, the pools and the embedded PostgreSQL in order. */
async function runServer(
  io: CommandIo,
  options: {
    migrateAndSeed: boolean
    open?: ((log: (line: string) => void) => Promise<DatabaseEnvironment>) | undefined
  },
): Promise<number> {
  const settings = readSettings()
  const { host, port, trustTenantHeader: trustHeader } = settings
  const secret = await jwtSecret()
  const key = await contextKey()
  const environment = await (options.open ?? openDatabaseEnvironment)(io.err)
  // The demo schema verifies a signed tenant context (migration 0007); the Citus flavour keeps the plain one.
  const contextConfig: TenantContextConfig | undefined = environment.citus ? undefined : { signing: { key } }
  const appPool = new pg.Pool({
    connectionString: environment.appUrl,
    max: settings.poolSize,
    ...appSessionSettings(settings),
  })
  appPool.on('error', (error) => io.err(`idle database connection failed: ${error.message}`))
  // The login-lookup and operator roles get small pools of their own; without their URLs those pages are off.
  const rolePool = (url: string | undefined) => {
    if (!url) return undefined
    const pool = new pg.Pool({ connectionString: url, max: 3 })
    pool.on('error', (error) => io.err(`idle database connection failed: ${error.message}`))
    return pool
  }
  const authPool = rolePool(environment.authUrl)
  const adminPool = rolePool(environment.adminUrl)
  if (!authPool) io.err('AUTH_DATABASE_URL is not set: the login page and POST /api/tokens are off')
  if (!adminPool) io.err('ADMIN_DATABASE_URL is not set: the admin pages are off')
  try {
    if (options.migrateAndSeed && !environment.citus) {
      const ownerPool = new pg.Pool({ connectionString: environment.ownerUrl, max: 2 })
      try {
        const { applied } = await migrate(ownerPool, { migrations: await loadMigrations(demoMigrationsDir) })
        if (contextConfig?.signing) {
          // Installs (or re-installs) the key the app signs with: `rowfence keys --add` does the same.
          await addContextKey(ownerPool, contextConfig.signing.key)
          bindContextConfig(ownerPool, contextConfig)
        }
        const seeded = await seedDemo(ownerPool)
        io.err(`migrations applied: ${applied.length}; ${describeSeed(seeded)}`)
      } finally {
        await ownerPool.end()
      }
    }
    if (trustHeader) io.err(TRUST_HEADER_WARNING)
    const db = createTenantDatabase(appPool, {
      pooler: settings.poolerMode,
      contextMode: environment.citus ? 'set-local' : 'set-config',
      contextConfig,
    })
    if (contextConfig?.signing) await warnUnlessKeyVerifies(db, contextConfig.signing.key.id, io)
    const app = await buildApp({
      db,
      authPool,
      adminPool,
      jwtSecret: secret,
      trustTenantHeader: trustHeader,
      trustProxy: settings.trustProxy,
      logger: { level: settings.logLevel, redact: ['req.headers.authorization'] },
      timeouts: {
        ...(settings.httpIdleTimeoutMs ? { idleMs: settings.httpIdleTimeoutMs } : {}),
        ...(settings.httpRequestTimeoutMs ? { requestMs: settings.httpRequestTimeoutMs } : {}),
        ...(settings.httpKeepAliveTimeoutMs ? { keepAliveMs: settings.httpKeepAliveTimeoutMs } : {}),
      },
    })
    await app.listen({ host, port })
    const address = app.server.address()
    const boundPort = typeof address === 'object' && address ? address.port : port
    await printWelcome(
      io,
      `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
      secret,
      trustHeader,
    )
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    io.err('stopping ...')
    await drain(app, settings.shutdownTimeoutMs, io)
    return 0
  } finally {
    await Promise.all([appPool.end(), authPool?.end(), adminPool?.end()])
    await environment.close()
  }
}

export const devCommand: Command = {
  name: 'dev',
  summary: 'Start PostgreSQL, migrate, seed and serve the demo (npm start)',
  usage: `rowfence-demo dev

Starts embedded PostgreSQL under .rowfence/ (or uses DATABASE_URL + APP_DATABASE_URL), applies
migrations, seeds the demo data and serves the demo app. Environment: HOST (127.0.0.1), PORT (3000),
LOG_LEVEL (info), ROWFENCE_JWT_SECRET, ROWFENCE_CONTEXT_KEY (<id>:<secret>, the key the tenant
context is signed with; installed by dev, by \`rowfence keys --add\` elsewhere; default: a generated dev
key), ROWFENCE_TRUST_TENANT_HEADER=1 (insecure demo mode),
ROWFENCE_PG_PORT (embedded PostgreSQL port, 54329), ROWFENCE_HOME (.rowfence), ROWFENCE_POOLER_MODE=1
(unnamed statements, for transaction-mode poolers), PG_POOL_SIZE (10), PG_CONNECT_TIMEOUT_MS (2000),
PG_STATEMENT_TIMEOUT_MS (5000), PG_IDLE_IN_TRANSACTION_TIMEOUT_MS (10000), HTTP_IDLE_TIMEOUT_MS (10000),
HTTP_REQUEST_TIMEOUT_MS (15000), HTTP_KEEP_ALIVE_TIMEOUT_MS (5000), SHUTDOWN_TIMEOUT_MS (10000).`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {})
    if (values.help) return (io.out(this.usage), 0)
    return runServer(io, { migrateAndSeed: true })
  },
}

export const citusCommand: Command = {
  name: 'citus',
  summary: 'Start a local Citus cluster, migrate, seed and serve the demo on it (npm run citus)',
  usage: `rowfence-demo citus

Starts a Citus cluster (coordinator + 2 workers, PostgreSQL 15 with Citus, loopback, data under
.rowfence/citus, re-created on every start), migrates the Citus flavour of the schema
(apps/demo/migrations-citus), seeds the demo data and serves the demo app on it, the tenant context
sent as SET LOCAL (see docs/citus.md). Ctrl-C stops the server and the cluster. Finds Citus in Debian's
PostgreSQL 15 or in ROWFENCE_CITUS_PG_BIN (a bin directory). Same environment variables as \`dev\`.`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {})
    if (values.help) return (io.out(this.usage), 0)
    return runServer(io, { migrateAndSeed: true, open: (log) => startCitusEnvironment(rowfenceHome(), log) })
  },
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the demo app (no migrations, no seed)',
  usage: `rowfence-demo serve

Like \`rowfence-demo dev\` without migrating or seeding. Same environment variables.`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {})
    if (values.help) return (io.out(this.usage), 0)
    return runServer(io, { migrateAndSeed: false })
  },
}

export const seedCommand: Command = {
  name: 'seed',
  summary: 'Load the demo data (idempotent)',
  usage: `rowfence-demo seed

Inserts the demo tenants and items that are missing, through the tenant context as the owner role.`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {})
    if (values.help) return (io.out(this.usage), 0)
    const environment = await openDatabaseEnvironment(io.err, { needApp: false })
    const pool = new pg.Pool({ connectionString: environment.ownerUrl, max: 2 })
    if (!environment.citus) bindContextConfig(pool, { signing: { key: await contextKey() } })
    try {
      const seeded = await seedDemo(pool)
      io.err(describeSeed(seeded))
      return 0
    } finally {
      await pool.end()
      await environment.close()
    }
  },
}
