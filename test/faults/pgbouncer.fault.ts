import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoDatabase, type DemoDatabase } from './support/demo-database.ts'
import { itemTargets, runLoad, summary } from './support/load.ts'
import { PgBouncer, pgbouncerVersion } from './support/pgbouncer.ts'
import { KillablePostgres, postgresAvailable, PG_BIN } from './support/postgres.ts'
import { DemoServer } from './support/server.ts'

/**
 * Behind PgBouncer in transaction mode, many tenants interleaved on a few server connections:
 * - the pooler mode (unnamed statements) through PgBouncer as distributions ship it (Debian 12: 1.18);
 * - named statements through PgBouncer >= 1.21 with max_prepared_statements.
 * ROWFENCE_PGBOUNCER / ROWFENCE_PGBOUNCER_NAMED name the binaries; ROWFENCE_FAULTS_REQUIRE_ALL=1 (CI)
 * turns a missing binary into a failure instead of a skipped leg.
 */
const requests = Number(process.env['ROWFENCE_FAULTS_PGBOUNCER_REQUESTS'] || 50_000)
const defaultBin = process.env['ROWFENCE_PGBOUNCER'] || '/usr/sbin/pgbouncer'
const defaultVersion = await pgbouncerVersion(defaultBin)
const namedBin =
  process.env['ROWFENCE_PGBOUNCER_NAMED'] ||
  (defaultVersion && (defaultVersion[0] > 1 || defaultVersion[1] >= 21) ? defaultBin : undefined)
const namedVersion = namedBin ? await pgbouncerVersion(namedBin) : undefined
const requireAll = process.env['ROWFENCE_FAULTS_REQUIRE_ALL'] === '1'

const legs = [
  { name: 'pooler mode (unnamed statements)', bin: defaultBin, version: defaultVersion, pooler: true },
  { name: 'named statements, max_prepared_statements', bin: namedBin, version: namedVersion, pooler: false },
]
for (const leg of legs) {
  if (!leg.version) {
    const message = `PgBouncer leg "${leg.name}" SKIPPED: no PgBouncer binary${leg.bin ? ` at ${leg.bin}` : ''} (set ${leg.pooler ? 'ROWFENCE_PGBOUNCER' : 'ROWFENCE_PGBOUNCER_NAMED to a PgBouncer >= 1.21'})`
    if (requireAll) throw new Error(message)
    console.warn(message)
  }
}

describe.skipIf(!postgresAvailable())(`PgBouncer in transaction mode (PostgreSQL ${PG_BIN})`, () => {
  let postgres: KillablePostgres
  let db: DemoDatabase

  beforeAll(async () => {
    postgres = await KillablePostgres.create()
    db = await createDemoDatabase({ adminUrl: postgres.adminUrl, port: postgres.port, tenantCount: 120 })
  })
  afterAll(async () => {
    await postgres?.destroy()
  })

  for (const leg of legs) {
    it.skipIf(!leg.version)(
      `${leg.name}: PgBouncer ${leg.version?.join('.') ?? '(absent)'}, ${requests} requests over 120 tenants, 0 errors, 0 foreign rows, no setting survives`,
      async () => {
        const bouncer = await PgBouncer.start({
          bin: leg.bin!,
          serverPort: postgres.port,
          users: [{ user: db.appRole, password: db.appPassword }],
          poolSize: 4,
          ...(leg.pooler ? {} : { maxPreparedStatements: 200 }),
        })
        let server: DemoServer | undefined
        try {
          server = await DemoServer.start({
            DATABASE_URL: db.ownerUrl,
            APP_DATABASE_URL: bouncer.rewrite(db.appUrl),
            ROWFENCE_JWT_SECRET: db.jwtSecret,
            ROWFENCE_CONTEXT_KEY: db.contextKey,
            ROWFENCE_POOLER_MODE: leg.pooler ? '1' : '0',
            PG_POOL_SIZE: '24',
            // PgBouncer refuses unknown startup parameters; these belong on the role behind a pooler.
            PG_STATEMENT_TIMEOUT_MS: '0',
            PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '0',
          })
          const result = await runLoad({
            url: server.url,
            targets: itemTargets(db.tenants),
            concurrency: 24,
            requests,
          })
          const report = JSON.stringify(summary(result))
          console.log(`PgBouncer ${leg.version!.join('.')} ${leg.name}: ${report}`)
          expect(result, report).toMatchObject({ requests, ok: requests, foreign: 0, empty: 0 })

          // Tenants were interleaved on few server connections.
          const admin = new pg.Client(postgres.adminUrl)
          await admin.connect()
          const backends = await admin.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`,
            [db.appRole],
          )
          await admin.end()
          expect(backends.rows[0]!.n).toBeLessThanOrEqual(4)

          // Nothing tenant-related (nor the plan mode) survives on a server connection: read the settings
          // through the pooler, with no context, on every server connection many times over.
          const probe = new pg.Pool({ connectionString: bouncer.rewrite(db.appUrl), max: 16 })
          try {
            const rows = await Promise.all(
              Array.from({ length: 200 }, () =>
                probe.query<{
                  context: string | null
                  tenant: string | null
                  user: string | null
                  plan: string
                  prepared: number
                }>(
                  // The demo's signed context value, and the plain settings (never sent by the demo).
                  `SELECT current_setting('rowfence.context', true) AS context,
                          current_setting('rowfence.tenant_id', true) AS tenant,
                          current_setting('rowfence.user_id', true) AS user,
                          current_setting('plan_cache_mode') AS plan,
                          (SELECT count(*)::int FROM pg_prepared_statements) AS prepared`,
                ),
              ),
            )
            for (const {
              rows: [row],
            } of rows) {
              expect(['', null]).toContain(row!.context)
              expect(['', null]).toContain(row!.tenant)
              expect(['', null]).toContain(row!.user)
              expect(row!.plan).toBe('auto')
              if (leg.pooler) expect(row!.prepared).toBe(0)
            }
          } finally {
            await probe.end()
          }
          expect(server.running, server.output).toBe(true)
        } finally {
          await server?.stop()
          await bouncer.stop()
        }
      },
      600_000,
    )
  }
})
