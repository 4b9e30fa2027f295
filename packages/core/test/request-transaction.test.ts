import {
  createRequestTransaction,
  createTenantDatabase,
  currentTransaction,
  fromDatabaseError,
  isRowfenceError,
  TenantPool,
  withTenant,
} from '@rowfence/core'
import type pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { tenantA as A, tenantB as B } from '../../../test/support/orm-fixture.ts'
import { requestFixtureSql } from '../../../test/support/request-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

let db: TestDatabase
let pool: pg.Pool
let owner: pg.Pool
let admin: pg.Pool
beforeAll(async () => {
  db = await createTestDatabase()
  owner = db.pool('owner')
  await owner.query(requestFixtureSql)
  admin = db.pool('admin')
  pool = db.pool('app', { max: 3 })
})
afterAll(async () => db.drop())
beforeEach(async () => {
  await owner.query('TRUNCATE request_notes')
})

const asA = { tenantId: A.id }
const titles = async (tenantId: string) =>
  (
    await admin.query<{ title: string }>(
      'SELECT title FROM request_notes WHERE tenant_id = $1 ORDER BY title',
      [tenantId],
    )
  ).rows.map((row) => row.title)
const insert = (title: string) =>
  currentTransaction()!.query('INSERT INTO request_notes (title) VALUES ($1)', [title])

describe('a request transaction', () => {
  it('takes no connection until the first query, and none at all when nothing queries', async () => {
    await pool.query('SELECT 1') // one idle connection, so a checkout shows as idleCount - 1
    const idle = pool.idleCount
    const request = createRequestTransaction(pool, asA)
    await request.run(async () => {
      await Promise.resolve()
      expect(currentTransaction()).toBe(request.transaction)
    })
    expect(request.connected).toBe(false)
    expect(pool.idleCount).toBe(idle)
    await request.commit()
    expect(pool.idleCount).toBe(idle)

    const querying = createRequestTransaction(pool, asA)
    await querying.run(() => insert('first'))
    expect(querying.connected).toBe(true)
    expect(pool.idleCount).toBe(idle - 1)
    await querying.commit()
    expect(pool.idleCount).toBe(idle)
    expect(await titles(A.id)).toEqual(['first'])
  })

  it('commits what it did; rollback() leaves nothing', async () => {
    const kept = createRequestTransaction(createTenantDatabase(pool), asA)
    await kept.run(() => insert('kept'))
    await kept.commit()
    const dropped = createRequestTransaction(pool, asA)
    await dropped.run(() => insert('dropped'))
    await dropped.rollback()
    await dropped.rollback()
    await expect(dropped.commit()).rejects.toMatchObject({ code: 'ROWFENCE_CONTEXT_CLOSED' })
    expect(await titles(A.id)).toEqual(['kept'])
  })

  it('is the transaction of withTenant(), TenantDatabase.query and TenantPool inside run(), as one unit', async () => {
    const tenantPool = new TenantPool(pool)
    const database = createTenantDatabase(pool)
    const request = createRequestTransaction(tenantPool, asA)
    const seen = await request.run(async () => {
      // Concurrent first statements: the later ones queue behind BEGIN and the context.
      await Promise.all([
        insert('one'),
        database.query('INSERT INTO request_notes (title) VALUES ($1)', ['two']),
      ])
      await tenantPool.query('INSERT INTO request_notes (title) VALUES ($1)', ['three'])
      await withTenant(pool, asA, (tx) => tx.query('INSERT INTO request_notes (title) VALUES ($1)', ['four']))
      await expect(withTenant(pool, { tenantId: B.id }, async () => undefined)).rejects.toMatchObject({
        code: 'ROWFENCE_TENANT_MISMATCH',
      })
      return (await tenantPool.query<{ title: string }>('SELECT title FROM request_notes ORDER BY title'))
        .rows
    })
    expect(seen.map((row) => row.title)).toEqual(['four', 'one', 'three', 'two'])
    expect(await titles(A.id)).toEqual([])
    await request.rollback()
    expect(await titles(A.id)).toEqual([])
    expect(await titles(B.id)).toEqual([])
  })

  it('sees only its own tenant: two interleaved requests on one pool', async () => {
    const a = createRequestTransaction(pool, asA)
    const b = createRequestTransaction(pool, { tenantId: B.id })
    await a.run(() => insert('a'))
    await b.run(() => insert('b'))
    const [seenA, seenB] = await Promise.all([
      a.run(() => currentTransaction()!.query<{ title: string }>('SELECT title FROM request_notes')),
      b.run(() => currentTransaction()!.query<{ title: string }>('SELECT title FROM request_notes')),
    ])
    await Promise.all([a.commit(), b.commit()])
    expect(seenA.rows).toEqual([{ title: 'a' }])
    expect(seenB.rows).toEqual([{ title: 'b' }])
  })

  it('rejects a COMMIT that fails on a deferred constraint with the server error; nothing is kept', async () => {
    const request = createRequestTransaction(pool, asA)
    await request.run(async () => {
      await insert('twice')
      await insert('twice')
    })
    const error: unknown = await request.commit().catch((caught: unknown) => caught)
    expect(fromDatabaseError(error).code).toBe('ROWFENCE_CONFLICT')
    expect(await titles(A.id)).toEqual([])
    // The connection is healthy and went back to the pool.
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('refuses to report success when a caught statement error made COMMIT roll back', async () => {
    const request = createRequestTransaction(pool, asA)
    await request.run(async () => {
      await insert('lost too')
      await currentTransaction()!
        .query('SELECT 1/0')
        .catch(() => undefined) // caught: the transaction is aborted
    })
    await expect(request.commit()).rejects.toMatchObject({
      code: 'ROWFENCE_TRANSACTION_ABORTED',
      statusCode: 500,
    })
    expect(await titles(A.id)).toEqual([])
    await expect(
      withTenant(pool, asA, async (tx) => {
        await tx.query('SELECT 1/0').catch(() => undefined)
      }),
    ).rejects.toMatchObject({ code: 'ROWFENCE_TRANSACTION_ABORTED' })
  })

  it('turns a connection cut before COMMIT into a 503 code and destroys the connection', async () => {
    const request = createRequestTransaction(pool, asA)
    const pid = await request.run(async () => {
      await insert('lost')
      return (await currentTransaction()!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
        .pid
    })
    const total = pool.totalCount
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
    const error: unknown = await request.commit().catch((caught: unknown) => caught)
    expect(isRowfenceError(error)).toBe(true)
    expect(['ROWFENCE_DATABASE_UNAVAILABLE', 'ROWFENCE_COMMIT_UNKNOWN']).toContain(
      fromDatabaseError(error).code,
    )
    expect(fromDatabaseError(error).statusCode).toBe(503)
    expect(pool.totalCount).toBe(total - 1)
    expect(await titles(A.id)).toEqual([])
  })

  it('refuses an invalid tenant id before taking a connection', () => {
    expect(() => createRequestTransaction(pool, { tenantId: 'x"; drop table items --' })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_INVALID_TENANT' }),
    )
  })
})
