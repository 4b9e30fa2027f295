import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTenantDatabase,
  fromDatabaseError,
  isRowfenceError,
  queryAsTenant,
  withTenant,
  type TenantContext,
} from '@rowfence/core'
import { itemsDemo } from '@rowfence/demo'
import { freePort } from '@rowfence/tools'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

const A: TenantContext = { tenantId: itemsDemo.tenants[0]!.id }
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

let db: TestDatabase
let admin: pg.Pool
beforeAll(async () => {
  db = await createTestDatabase()
  admin = db.pool('admin', { max: 2 })
  // A table whose COMMIT takes a while (a deferred trigger sleeps), to lose the connection mid-COMMIT.
  await admin.query(`
    CREATE TABLE commit_probe (tenant_id uuid NOT NULL, n int NOT NULL);
    CREATE FUNCTION commit_probe_slow() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER commit_probe_slow AFTER INSERT ON commit_probe
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION commit_probe_slow();
    GRANT SELECT, INSERT ON commit_probe TO ${db.cluster.appRole};
  `)
})
afterAll(async () => db.drop())

/** Terminates the app role's backend that runs a statement matching `pattern`, once it shows up. */
/**
 * Marks a promise as handled at once: it may reject while the test is still busy cutting the connection,
 * before the test awaits it (an unhandled rejection in between would fail the run). Returns it unchanged.
 */
function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined)
  return promise
}

async function terminateWhenRunning(pattern: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE usename = $1 AND datname = current_database() AND state = 'active' AND query LIKE $2`,
      [db.cluster.appRole, pattern],
    )
    if (rows[0]) {
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid])
      return
    }
    await sleep(25)
  }
  throw new Error(`no backend ran ${pattern}`)
}

async function appPid(pool: pg.Pool): Promise<number> {
  const { rows } = await queryAsTenant<{ pid: number }>(pool, A, 'SELECT pg_backend_pid() AS pid')
  return rows[0]!.pid
}

describe('a connection that fails while checked out', () => {
  it('mid-query (single Sync): ROWFENCE_DATABASE_UNAVAILABLE, destroyed, the pool recovers', async () => {
    const pool = db.pool('app', { max: 1 })
    const before = await appPid(pool)
    const query = observed(queryAsTenant(pool, A, 'SELECT pg_sleep(10) AS faults_read'))
    await terminateWhenRunning('%faults_read%')
    await expect(query).rejects.toMatchObject({ code: 'ROWFENCE_DATABASE_UNAVAILABLE', statusCode: 503 })
    expect(pool.totalCount).toBe(0)
    expect(await appPid(pool)).not.toBe(before)
  })

  it('a write lost in flight is ROWFENCE_COMMIT_UNKNOWN', async () => {
    const pool = db.pool('app', { max: 1 })
    const query = observed(
      queryAsTenant(
        pool,
        A,
        `INSERT INTO commit_probe (tenant_id, n) SELECT $1, 1 FROM pg_sleep(10) AS faults_write`,
        [A.tenantId],
      ),
    )
    await terminateWhenRunning('%faults_write%')
    await expect(query).rejects.toMatchObject({ code: 'ROWFENCE_COMMIT_UNKNOWN', statusCode: 503 })
    expect(pool.totalCount).toBe(0)
  })

  it('mid-transaction: the socket error is caught while no query runs, COMMIT is not sent', async () => {
    const pool = db.pool('app', { max: 1 })
    const pid = await appPid(pool)
    const failed = observed(
      withTenant(pool, A, async (tx) => {
        await tx.query('SELECT 1')
        await admin.query('SELECT pg_terminate_backend($1)', [pid])
        await sleep(300) // node-postgres emits 'error' on the idle, checked-out client now
        return 'done'
      }),
    )
    await expect(failed).rejects.toMatchObject({ code: 'ROWFENCE_DATABASE_UNAVAILABLE' })
    expect(pool.totalCount).toBe(0)
    await expect(withTenant(pool, A, (tx) => tx.query('SELECT 1'))).resolves.toBeDefined()
  })

  it('a query after the connection died in a transaction: ROWFENCE_DATABASE_UNAVAILABLE, no ROLLBACK', async () => {
    const pool = db.pool('app', { max: 1 })
    const failed = observed(
      withTenant(pool, A, async (tx) => {
        await tx.query('SELECT 1')
        await tx.query('SELECT pg_sleep(10) AS faults_in_tx')
      }),
    )
    await terminateWhenRunning('%faults_in_tx%')
    await expect(failed).rejects.toMatchObject({ code: 'ROWFENCE_DATABASE_UNAVAILABLE' })
    expect(pool.totalCount).toBe(0)
  })

  it('during COMMIT: ROWFENCE_COMMIT_UNKNOWN (the write may or may not be saved), connection destroyed', async () => {
    const pool = db.pool('app', { max: 1 })
    const committing = observed(
      withTenant(pool, A, (tx) =>
        tx.query('INSERT INTO commit_probe (tenant_id, n) VALUES ($1, 2)', [A.tenantId]),
      ),
    )
    await terminateWhenRunning('COMMIT')
    await expect(committing).rejects.toMatchObject({ code: 'ROWFENCE_COMMIT_UNKNOWN', statusCode: 503 })
    expect(pool.totalCount).toBe(0)
  })

  it('an idle-in-transaction timeout ends the session: ROWFENCE_DATABASE_UNAVAILABLE, the pool recovers', async () => {
    const pool = db.pool('app', { max: 1, idle_in_transaction_session_timeout: 200 })
    const stuck = observed(
      withTenant(pool, A, async (tx) => {
        await tx.query('SELECT 1')
        await sleep(700)
        await tx.query('SELECT 2')
      }),
    )
    await expect(stuck).rejects.toMatchObject({ code: 'ROWFENCE_DATABASE_UNAVAILABLE' })
    await expect(appPid(pool)).resolves.toBeGreaterThan(0)
  })

  it('an unreachable server: ROWFENCE_DATABASE_UNAVAILABLE from withTenant, queryAsTenant and ping()', async () => {
    const url = new URL(db.appUrl)
    url.port = String(await freePort())
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 })
    const tenants = createTenantDatabase(pool)
    try {
      await expect(tenants.ping()).rejects.toMatchObject({ code: 'ROWFENCE_DATABASE_UNAVAILABLE' })
      await expect(tenants.queryAsTenant(A, 'SELECT 1')).rejects.toMatchObject({
        code: 'ROWFENCE_DATABASE_UNAVAILABLE',
        details: { retryAfterSeconds: 1 },
      })
      await expect(tenants.withTenant(A, (tx) => tx.query('SELECT 1'))).rejects.toMatchObject({
        code: 'ROWFENCE_DATABASE_UNAVAILABLE',
      })
    } finally {
      await pool.end()
    }
  })
})

describe('overload', () => {
  it('pool exhaustion: a fast ROWFENCE_DATABASE_BUSY (503, retry hint), then the pool serves again', async () => {
    const pool = db.pool('app', { max: 1, connectionTimeoutMillis: 300 })
    let release = (): void => undefined
    const holder = observed(
      withTenant(pool, A, async (tx) => {
        await tx.query('SELECT 1')
        await new Promise<void>((done) => (release = done))
      }),
    )
    await sleep(100)
    const started = performance.now()
    const error = await queryAsTenant(pool, A, 'SELECT 1').catch((caught: unknown) => caught)
    expect(performance.now() - started).toBeLessThan(1500)
    expect(isRowfenceError(error, 'ROWFENCE_DATABASE_BUSY')).toBe(true)
    expect(error).toMatchObject({ statusCode: 503, details: { retryAfterSeconds: 1 } })
    release()
    await holder
    await expect(appPid(pool)).resolves.toBeGreaterThan(0)
  })

  it('statement_timeout: the cancelled query maps to ROWFENCE_QUERY_TIMEOUT; the connection is kept', async () => {
    const pool = db.pool('app', { max: 1, statement_timeout: 200 })
    const pid = await appPid(pool)
    const error = await queryAsTenant(pool, A, 'SELECT pg_sleep(5)').catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: '57014' })
    expect(fromDatabaseError(error)).toMatchObject({
      code: 'ROWFENCE_QUERY_TIMEOUT',
      statusCode: 503,
      details: { retryAfterSeconds: 1 },
    })
    expect(await appPid(pool)).toBe(pid)
  })
})

describe('pooler mode', () => {
  const named = {
    name: 'faults_named_probe',
    text: 'SELECT count(*)::int AS n FROM items',
    genericPlan: true,
  }
  const prepared = async (pool: pg.Pool) =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements')).rows[0]!.n

  it('sends only unnamed statements (queryAsTenant, withTenant, createTenantDatabase({ pooler }))', async () => {
    const pool = db.pool('app', { max: 1 })
    const result = await queryAsTenant(pool, A, named, undefined, { pooler: true })
    expect(result.rows[0]!.n).toBeGreaterThan(0)
    await withTenant(
      pool,
      A,
      async (tx) => {
        await tx.query(named)
        await tx.query(named)
      },
      { pooler: true, genericPlans: true },
    )
    const handle = createTenantDatabase(pool, { pooler: true })
    await handle.queryAsTenant(A, named)
    await handle.withTenant(A, (tx) => tx.query(named))
    expect(await prepared(pool)).toBe(0)
    // The context stays transaction-local: nothing survives on the connection.
    const { rows } = await pool.query(`SELECT current_setting('rowfence.tenant_id', true) AS t,
                                              current_setting('plan_cache_mode') AS p`)
    expect(rows[0]).toMatchObject({ p: 'auto' })
    expect(['', null]).toContain(rows[0].t)
  })

  it('named statements stay the default', async () => {
    const pool = db.pool('app', { max: 1 })
    await queryAsTenant(pool, A, named)
    expect(await prepared(pool)).toBeGreaterThan(0)
  })
})
