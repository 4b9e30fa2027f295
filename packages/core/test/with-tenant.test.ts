import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTenantDatabase,
  queryAsTenant,
  RowfenceError,
  withTenant,
  type TenantContext,
} from '@rowfence/core'
import { itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

const [pawnee, dunder] = itemsDemo.tenants as [{ id: string; name: string }, { id: string; name: string }]
const A: TenantContext = { tenantId: pawnee.id }
const USER = '0b7f2b7e-5f0c-4c4e-9a53-6f1c0b9d2a11'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())

/**
 * Counts what crosses the wire on the single connection of a max:1 pool: ReadyForQuery messages (one per
 * round trip) and flushes (writes outside a cork, plus each uncork that sends the corked messages at once).
 */
async function instrument(pool: pg.Pool): Promise<{ readyForQuery: number; writes: number; reset(): void }> {
  const client = await pool.connect()
  const counters = {
    readyForQuery: 0,
    writes: 0,
    reset() {
      counters.readyForQuery = 0
      counters.writes = 0
    },
  }
  type Stream = { write: (...args: unknown[]) => boolean; cork: () => void; uncork: () => void }
  const connection = (
    client as unknown as { connection: { on(e: string, f: () => void): void; stream: Stream } }
  ).connection
  connection.on('readyForQuery', () => counters.readyForQuery++)
  const stream = connection.stream
  const { write, cork, uncork } = {
    write: stream.write.bind(stream),
    cork: stream.cork.bind(stream),
    uncork: stream.uncork.bind(stream),
  }
  let corked = 0
  stream.cork = () => {
    corked++
    cork()
  }
  stream.uncork = () => {
    corked--
    if (corked === 0) counters.writes++
    uncork()
  }
  stream.write = (...args: unknown[]) => {
    if (corked === 0) counters.writes++
    return write(...args)
  }
  client.release()
  return counters
}

describe('context validation happens before anything is sent', () => {
  const badTenants: unknown[] = [
    '',
    'abc',
    "' OR 1=1 --",
    '7a245486-3fc8-47ec-b303-04fefe7a58ff; DROP TABLE items',
    null,
    undefined,
    42,
    {},
  ]
  it.each(badTenants.map((value) => [JSON.stringify(value) ?? 'undefined', value]))(
    'tenant id %s -> ROWFENCE_INVALID_TENANT, no connection checked out',
    async (_label, tenantId) => {
      const pool = new pg.Pool({ connectionString: db.appUrl, max: 1 })
      try {
        const context = { tenantId } as TenantContext
        await expect(withTenant(pool, context, async () => 1)).rejects.toMatchObject({
          code: 'ROWFENCE_INVALID_TENANT',
        })
        await expect(queryAsTenant(pool, context, 'SELECT 1')).rejects.toMatchObject({
          code: 'ROWFENCE_INVALID_TENANT',
        })
        expect(pool.totalCount).toBe(0)
      } finally {
        await pool.end()
      }
    },
  )

  it('rejects a user id that is not a UUID with ROWFENCE_INVALID_USER', async () => {
    const pool = db.pool('app')
    await expect(
      withTenant(pool, { tenantId: pawnee.id, userId: 'bob' }, async () => 1),
    ).rejects.toMatchObject({
      code: 'ROWFENCE_INVALID_USER',
    })
  })
})

describe('withTenant', () => {
  it('runs the callback as the tenant and user, transaction-locally', async () => {
    const pool = db.pool('app')
    const row = await withTenant(pool, { tenantId: pawnee.id, userId: USER }, async (tx) => {
      const { rows } = await tx.query<{ tenant: string; usr: string; started: Date; n: number }>(
        `SELECT rowfence.current_tenant_id()::text AS tenant, rowfence.current_user_id()::text AS usr,
                transaction_timestamp() AS started, (SELECT count(*)::int FROM items) AS n`,
      )
      await new Promise((resolve) => setTimeout(resolve, 20))
      const second = await tx.query<{ started: Date; tenant: string }>(
        'SELECT transaction_timestamp() AS started, rowfence.current_tenant_id()::text AS tenant',
      )
      const { started, ...first } = rows[0]!
      return {
        ...first,
        sameTransaction: second.rows[0]?.started.getTime() === started.getTime(),
        secondTenant: second.rows[0]?.tenant,
      }
    })
    expect(row).toEqual({
      tenant: pawnee.id,
      usr: USER,
      n: 5,
      sameTransaction: true,
      secondTenant: pawnee.id,
    })
  })

  it('sends BEGIN + context + first query in one write and one round trip, then COMMIT', async () => {
    const pool = db.pool('app', { max: 1 })
    const wire = await instrument(pool)
    wire.reset()
    await withTenant(pool, A, async (tx) => tx.query('SELECT count(*) FROM items'))
    expect(wire).toMatchObject({ readyForQuery: 2, writes: 2 })

    wire.reset()
    await withTenant(pool, A, async (tx) => {
      await tx.query('SELECT 1')
      await tx.query('SELECT 2')
    })
    expect(wire).toMatchObject({ readyForQuery: 3, writes: 3 })
  })

  it('queryAsTenant costs exactly one round trip', async () => {
    const pool = db.pool('app', { max: 1 })
    const wire = await instrument(pool)
    wire.reset()
    const { rows } = await queryAsTenant<{ title: string }>(pool, A, 'SELECT title FROM items ORDER BY title')
    expect(rows.map((row) => row.title)).toEqual([
      'art-fair',
      'bench',
      'concert',
      'drinking-fountain',
      'emergency-kit',
    ])
    expect(wire).toMatchObject({ readyForQuery: 1, writes: 1 })
  })

  it('sends nothing at all when the callback runs no query', async () => {
    const pool = db.pool('app', { max: 1 })
    const wire = await instrument(pool)
    wire.reset()
    await expect(withTenant(pool, A, async () => 'done')).resolves.toBe('done')
    expect(wire).toMatchObject({ readyForQuery: 0, writes: 0 })
  })

  it('commits on success', async () => {
    const pool = db.pool('app')
    await withTenant(pool, A, (tx) =>
      tx.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'commit-me')`, [A.tenantId]),
    )
    const { rows } = await queryAsTenant(pool, A, `SELECT 1 FROM items WHERE title = 'commit-me'`)
    expect(rows).toHaveLength(1)
  })

  it('rolls back and rethrows the original error', async () => {
    const pool = db.pool('app')
    const original = new Error('boom')
    const thrown = await withTenant(pool, A, async (tx) => {
      await tx.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'roll-me-back')`, [A.tenantId])
      throw original
    }).catch((error: unknown) => error)
    expect(thrown).toBe(original)
    const { rows } = await queryAsTenant(pool, A, `SELECT 1 FROM items WHERE title = 'roll-me-back'`)
    expect(rows).toHaveLength(0)
  })

  it('rethrows the database error of a failing first statement and leaves the connection usable', async () => {
    const pool = db.pool('app', { max: 1 })
    await expect(withTenant(pool, A, (tx) => tx.query('SELECT 1/0'))).rejects.toMatchObject({ code: '22012' })
    await expect(
      withTenant(pool, A, (tx) => tx.query('SELECT count(*)::int AS n FROM items')),
    ).resolves.toMatchObject({
      rows: [{ n: expect.any(Number) }],
    })
    expect(pool.totalCount).toBe(1)
  })

  it('nested transaction() uses savepoints: an inner failure is undone, the outer work commits', async () => {
    const pool = db.pool('app')
    await withTenant(pool, A, async (tx) => {
      await tx.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'outer')`, [A.tenantId])
      await tx
        .transaction(async (inner) => {
          await inner.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'inner-failed')`, [A.tenantId])
          throw new Error('inner')
        })
        .catch(() => undefined)
      await tx.transaction(async (inner) => {
        await inner.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'inner-ok')`, [A.tenantId])
      })
    })
    const { rows } = await queryAsTenant<{ title: string }>(
      pool,
      A,
      `SELECT title FROM items WHERE title IN ('outer', 'inner-failed', 'inner-ok') ORDER BY title`,
    )
    expect(rows.map((row) => row.title)).toEqual(['inner-ok', 'outer'])
  })

  it('refuses queries on a transaction that has ended', async () => {
    const pool = db.pool('app')
    let leaked: { query(text: string): Promise<unknown> } | undefined
    await withTenant(pool, A, async (tx) => {
      leaked = tx
      await tx.query('SELECT 1')
    })
    await expect(leaked!.query('SELECT 1')).rejects.toMatchObject({ code: 'ROWFENCE_CONTEXT_CLOSED' })
  })

  it('honours readOnly', async () => {
    const pool = db.pool('app')
    await expect(
      withTenant(
        pool,
        A,
        (tx) => tx.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'ro')`, [A.tenantId]),
        {
          readOnly: true,
        },
      ),
    ).rejects.toMatchObject({ code: '25006' })
  })

  it('re-prepares a named statement after a batch that failed', async () => {
    const pool = db.pool('app', { max: 1 })
    const named = { name: 'test_named_count', text: 'SELECT count(*)::int AS n FROM items WHERE title > $1' }
    await expect(queryAsTenant(pool, A, { ...named, values: ['a'] })).resolves.toMatchObject({
      rows: [{ n: expect.any(Number) }],
    })
    await expect(queryAsTenant(pool, { tenantId: 'not-a-uuid' }, named)).rejects.toBeInstanceOf(RowfenceError)
    await expect(queryAsTenant(pool, A, 'SELECT 1/0')).rejects.toMatchObject({ code: '22012' })
    await expect(queryAsTenant(pool, A, { ...named, values: ['a'] })).resolves.toMatchObject({
      rows: [{ n: expect.any(Number) }],
    })
  })
})

describe('generic plans', () => {
  const list = {
    name: 'test_generic_list',
    text: 'SELECT id FROM items WHERE tenant_id = $1 AND ($2::text IS NULL OR title > $2) ORDER BY title LIMIT $3',
  }
  async function planCounts(pool: pg.Pool, name: string) {
    const { rows } = await pool.query(
      'SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = $1',
      [name],
    )
    return rows[0]
  }

  it('genericPlan reuses one cached plan, and the setting ends with the statement', async () => {
    const pool = db.pool('app', { max: 1 })
    for (let i = 0; i < 8; i++) {
      const { rows } = await queryAsTenant(pool, A, {
        ...list,
        values: [A.tenantId, null, 3],
        genericPlan: true,
      })
      expect(rows).toHaveLength(3)
    }
    expect(await planCounts(pool, list.name)).toEqual({ generic: 8, custom: 0 })
    expect((await pool.query('SHOW plan_cache_mode')).rows[0].plan_cache_mode).toBe('auto')
  })

  it('without it, PostgreSQL plans the statement anew on each of its first executions at least', async () => {
    // PostgreSQL's default: custom plans for the first five executions, then a generic plan only if it
    // looks no costlier; on large tables with LIMIT $n this RLS query stays on custom plans for good.
    const pool = db.pool('app', { max: 1 })
    for (let i = 0; i < 8; i++) await queryAsTenant(pool, A, { ...list, values: [A.tenantId, null, 3] })
    expect((await planCounts(pool, list.name))?.custom).toBeGreaterThanOrEqual(5)
  })

  it('withTenant({ genericPlans }) applies to the whole transaction and no further', async () => {
    const pool = db.pool('app', { max: 1 })
    const modes = await withTenant(
      pool,
      A,
      async (tx) => {
        await tx.query('SELECT 1')
        return (await tx.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]?.plan_cache_mode
      },
      { genericPlans: true },
    )
    expect(modes).toBe('force_generic_plan')
    expect((await pool.query('SHOW plan_cache_mode')).rows[0].plan_cache_mode).toBe('auto')
  })
})

describe('TenantDatabase', () => {
  it('refuses a tenant query outside any context with ROWFENCE_NO_TENANT_CONTEXT', async () => {
    const tenantDb = createTenantDatabase(db.pool('app'))
    await expect(tenantDb.query('SELECT * FROM items')).rejects.toMatchObject({
      code: 'ROWFENCE_NO_TENANT_CONTEXT',
      statusCode: 500,
    })
  })

  it('routes query() to the enclosing withTenant transaction, across awaits', async () => {
    const tenantDb = createTenantDatabase(db.pool('app'))
    const helper = async () =>
      (await tenantDb.query<{ t: string }>('SELECT rowfence.current_tenant_id()::text AS t')).rows[0]?.t
    const seen = await tenantDb.withTenant({ tenantId: dunder.id }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      return helper()
    })
    expect(seen).toBe(dunder.id)
    await expect(helper()).rejects.toMatchObject({ code: 'ROWFENCE_NO_TENANT_CONTEXT' })
  })
})

describe('pool hygiene', () => {
  async function leftoverSetting(
    pool: pg.Pool,
  ): Promise<{ context: string | null; tenant: string | null; user: string | null; items: number }> {
    // The demo schema's signed context: the value, and what the context functions make of the connection.
    const { rows } = await pool.query(
      `SELECT current_setting('rowfence.context', true) AS context, rowfence.current_tenant_id() AS tenant,
              rowfence.current_user_id() AS user, (SELECT count(*)::int FROM items) AS items`,
    )
    return rows[0]
  }

  it('returns the connection with no tenant state after success, failure and the fast path', async () => {
    const pool = db.pool('app', { max: 1 })
    const context = { tenantId: pawnee.id, userId: USER }
    await withTenant(pool, context, (tx) => tx.query('SELECT 1'))
    const afterCommit = await leftoverSetting(pool)
    await withTenant(pool, context, async (tx) => {
      await tx.query('SELECT 1')
      throw new Error('fail')
    }).catch(() => undefined)
    const afterRollback = await leftoverSetting(pool)
    await queryAsTenant(pool, context, 'SELECT 1')
    const afterFastPath = await leftoverSetting(pool)
    await queryAsTenant(pool, context, 'SELECT 1/0').catch(() => undefined)
    const afterFastPathError = await leftoverSetting(pool)
    expect(pool.totalCount).toBe(1)
    for (const state of [afterCommit, afterRollback, afterFastPath, afterFastPathError]) {
      expect(state).toEqual({ context: '', tenant: null, user: null, items: 0 })
    }
  })
})

describe('set-local context mode (Citus): SET LOCAL pipelined with BEGIN', () => {
  it('queryAsTenant: BEGIN, SET LOCALs, the statement and COMMIT in one write, one round trip', async () => {
    const pool = db.pool('app', { max: 1 })
    const wire = await instrument(pool)
    wire.reset()
    const result = await queryAsTenant(
      pool,
      { ...A, userId: USER },
      `SELECT array_agg(DISTINCT tenant_id) AS tenants, rowfence.current_user_id() AS user_id FROM items`,
      [],
      { contextMode: 'set-local' },
    )
    expect(result.rows).toEqual([{ tenants: [pawnee.id], user_id: USER }])
    expect({ writes: wire.writes, readyForQuery: wire.readyForQuery }).toEqual({
      writes: 1,
      readyForQuery: 1,
    })
    const after = await pool.query(
      `SELECT current_setting('rowfence.context', true) AS t, now() = statement_timestamp() AS idle`,
    )
    expect(after.rows).toEqual([{ t: '', idle: true }])
  })

  it('withTenant: the first query goes out with BEGIN and the SET LOCALs; nothing survives COMMIT', async () => {
    const pool = db.pool('app', { max: 1 })
    const wire = await instrument(pool)
    const tenants = await createTenantDatabase(pool, { contextMode: 'set-local' }).withTenant(
      A,
      async (tx) => {
        wire.reset()
        const first = await tx.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM items')
        expect(wire.readyForQuery).toBe(1)
        return first.rows
      },
    )
    expect(tenants).toEqual([{ tenant_id: pawnee.id }])
    const after = await pool.query(`SELECT current_setting('rowfence.context', true) AS t`)
    expect(after.rows).toEqual([{ t: '' }])
  })

  it('a failing statement rolls its transaction block back; the connection serves the next tenant', async () => {
    const pool = db.pool('app', { max: 1 })
    await expect(
      queryAsTenant(pool, A, 'INSERT INTO items (tenant_id, title) VALUES ($1, $2)', [dunder.id, 'planted'], {
        contextMode: 'set-local',
      }),
    ).rejects.toMatchObject({ code: '42501' })
    const next = await queryAsTenant(
      pool,
      { tenantId: dunder.id },
      'SELECT DISTINCT tenant_id FROM items',
      [],
      {
        contextMode: 'set-local',
      },
    )
    expect(next.rows).toEqual([{ tenant_id: dunder.id }])
  })

  it('quotes adversarial values: a text tenant id is a literal, never SQL', async () => {
    const evil = `x'; DROP TABLE items; --`
    const result = await queryAsTenant(
      db.pool('app'),
      { tenantId: evil, claims: { role: `"\\'` } },
      `SELECT current_setting('rowfence.tenant_id') AS t, current_setting('app.role') AS r`,
      [],
      {
        contextMode: 'set-local',
        contextConfig: { tenantIdType: 'text', claims: { role: 'app.role' } },
      },
    )
    expect(result.rows).toEqual([{ t: evil, r: `"\\'` }])
    const still = await db.pool('admin').query(`SELECT to_regclass('items') IS NOT NULL AS present`)
    expect(still.rows).toEqual([{ present: true }])
  })

  it('refuses an unknown mode before anything is sent', async () => {
    await expect(
      queryAsTenant(db.pool('app'), A, 'SELECT 1', [], { contextMode: 'bogus' as never }),
    ).rejects.toThrow(/Unknown context mode/)
  })
})
