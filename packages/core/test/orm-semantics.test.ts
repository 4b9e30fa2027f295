import {
  asTenant,
  classifyTransactionControl,
  defineContextConfig,
  fromDatabaseError,
  isRowfenceError,
  normalizeContextWith,
  queryAsTenant,
  RowfenceError,
  withTenant,
} from '@rowfence/core'
import Cursor from 'pg-cursor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tenantA as A, tenantB as B } from '../../../test/support/orm-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())
const asA = { tenantId: A.id }

describe('transaction control statements', () => {
  it.each([
    ['BEGIN', 'begin'],
    ['begin;', 'begin'],
    ['  /* orm */ START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'begin'],
    ['COMMIT', 'commit'],
    ['end transaction', 'commit'],
    ['ROLLBACK', 'rollback'],
    ['abort', 'rollback'],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'set-transaction'],
    ["COMMIT PREPARED 'x'", 'refused'],
    ["PREPARE TRANSACTION 'x'", 'refused'],
    ['COMMIT AND CHAIN', 'refused'],
  ])('%s -> %s', (text, kind) => {
    expect(classifyTransactionControl(text)?.kind).toBe(kind)
  })

  it.each([
    'SELECT 1',
    'ROLLBACK TO SAVEPOINT a',
    'SAVEPOINT a',
    'RELEASE SAVEPOINT a',
    'select begin from t',
  ])('%s passes through', (text) => {
    expect(classifyTransactionControl(text)).toBeUndefined()
  })

  it('BEGIN/COMMIT/ROLLBACK through a tenant transaction are savepoints; the outer transaction goes on', async () => {
    const pool = db.pool('app')
    const result = await withTenant(pool, asA, async (tx) => {
      const before = (await tx.query('SELECT txid_current()::text AS x')).rows[0]
      await tx.query('BEGIN')
      await tx.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'sp-rolled-back')`, [A.id])
      await tx.query('ROLLBACK')
      await tx.client.query('BEGIN')
      await tx.client.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'sp-kept')`, [A.id])
      await tx.client.query('COMMIT')
      const after = (await tx.query('SELECT txid_current()::text AS x')).rows[0]
      const titles = (await tx.query(`SELECT title FROM items WHERE title LIKE 'sp-%'`)).rows
      const early = await tx.query('COMMIT').catch((error: unknown) => error)
      return { same: before?.x === after?.x, titles, early }
    })
    expect(result.same).toBe(true)
    expect(result.titles).toEqual([{ title: 'sp-kept' }])
    expect(isRowfenceError(result.early, 'ROWFENCE_TRANSACTION_CONTROL')).toBe(true)
  })
})

describe('query config, callbacks and the raw client', () => {
  it('passes types and rowMode through, on the first (pipelined) query and later ones', async () => {
    const types = { getTypeParser: () => (value: string) => `parsed:${value}` }
    const rows = await withTenant(db.pool('app'), asA, async (tx) => [
      (await tx.query({ text: 'SELECT 1::int AS n', types, rowMode: 'array' })).rows,
      (await tx.query({ text: 'SELECT 2::int AS n', types })).rows,
    ])
    expect(rows).toEqual([[['parsed:1']], [{ n: 'parsed:2' }]])
    const single = await queryAsTenant(db.pool('app'), asA, { text: 'SELECT 3::int AS n', types })
    expect(single.rows).toEqual([{ n: 'parsed:3' }])
  })

  it('tx.client runs a cursor inside the context (BEGIN and context go out first)', async () => {
    const rows = await withTenant(db.pool('app'), asA, async (tx) => {
      const cursor = tx.client.query(new Cursor('SELECT tenant_id::text AS t FROM items')) as Cursor
      const read = await cursor.read(100)
      await cursor.close()
      return read
    })
    expect(rows.length).toBeGreaterThan(0)
    expect(new Set(rows.map((row) => row.t))).toEqual(new Set([A.id]))
  })

  it('awaits a returned thenable inside the context', async () => {
    const pool = db.pool('app')
    const lazy = {
      then(resolve: (value: unknown) => void, reject: (error: unknown) => void) {
        queryAsTenant(pool, asA, 'SELECT 1').then(() => undefined, reject)
        import('@rowfence/core')
          .then(({ currentTransaction }) =>
            currentTransaction()?.query('SELECT count(*)::int AS n FROM items'),
          )
          .then((result) => resolve(result?.rows[0]), reject)
      },
    }
    const counted = (await withTenant(pool, asA, () => lazy as unknown as Promise<unknown>)) as { n: number }
    expect(counted.n).toBeGreaterThan(0)
  })

  it('nested withTenant: same tenant reuses the connection (max: 1), another tenant is refused', async () => {
    const pool = db.pool('app', { max: 1 })
    const n = await withTenant(pool, asA, () =>
      withTenant(
        pool,
        asA,
        async (tx) => (await tx.query('SELECT count(*)::int AS n FROM items')).rows[0]?.n,
      ),
    )
    expect(n).toBeGreaterThan(0)
    await expect(
      withTenant(pool, asA, () => withTenant(pool, { tenantId: B.id }, async () => 1)),
    ).rejects.toMatchObject({ code: 'ROWFENCE_TENANT_MISMATCH' })
    const scoped = await asTenant(asA, () => 'ok')
    expect(scoped).toBe('ok')
  })
})

describe('configurable context', () => {
  it('validates text and bigint ids', () => {
    const text = defineContextConfig({ tenantIdType: 'text', userIdType: 'bigint' })
    expect(normalizeContextWith({ tenantId: 'org_2abcDEF', userId: 42n }, text)).toMatchObject({
      tenantId: 'org_2abcDEF',
      userId: '42',
    })
    expect(() => normalizeContextWith({ tenantId: '' }, text)).toThrow(RowfenceError)
    expect(() => normalizeContextWith({ tenantId: 'a\u0000b' }, text)).toThrow(RowfenceError)
    expect(() => normalizeContextWith({ tenantId: 'org', userId: '9223372036854775808' }, text)).toThrow(
      RowfenceError,
    )
    expect(() => normalizeContextWith({ tenantId: 'org', userId: 1.5 }, text)).toThrow(RowfenceError)
    expect(() => defineContextConfig({ tenantSetting: "x'; drop table items --" })).toThrow(RowfenceError)
    expect(() => defineContextConfig({ claims: { role: 'rowfence.tenant_id' } })).toThrow(RowfenceError)
  })

  it('sets the configured settings and claims in the same statement as bind parameters', async () => {
    const contextConfig = defineContextConfig({
      tenantIdType: 'text',
      tenantSetting: 'app.org_id',
      claims: { role: 'app.role', plan: 'app.plan' },
    })
    const pool = db.pool('app')
    const claims = { role: "admin'; drop table items --", plan: 3 }
    const read = `SELECT current_setting('app.org_id') AS org, current_setting('app.role') AS role,
                         current_setting('app.plan') AS plan`
    const inTx = await withTenant(
      pool,
      { tenantId: 'org_2abc', claims },
      async (tx) => (await tx.query(read)).rows[0],
      { contextConfig },
    )
    const single = await queryAsTenant(pool, { tenantId: 'org_2abc', claims }, read, undefined, {
      contextConfig,
    })
    expect(inTx).toEqual({ org: 'org_2abc', role: claims.role, plan: '3' })
    expect(single.rows[0]).toEqual(inTx)
    await expect(
      withTenant(pool, { tenantId: 'org', claims: { other: 'x' } }, async () => 1, { contextConfig }),
    ).rejects.toMatchObject({ code: 'ROWFENCE_INVALID_INPUT' })
    expect((await db.pool('owner').query('SELECT count(*)::int AS n FROM items')).rowCount).toBe(1)
  })
})

describe('error unwrapping', () => {
  const pgError = (code: string) => Object.assign(new Error('db'), { code, severity: 'ERROR' })
  it.each([
    [
      'a cause chain (DrizzleQueryError)',
      { message: 'Failed query', cause: pgError('42501') },
      'ROWFENCE_FORBIDDEN',
    ],
    [
      'Prisma meta.driverAdapterError',
      {
        code: 'P2039',
        clientVersion: '7',
        meta: { driverAdapterError: { cause: { kind: 'postgres', code: '42501', originalCode: '42501' } } },
      },
      'ROWFENCE_FORBIDDEN',
    ],
    ['Prisma P2002 alone', { code: 'P2002', clientVersion: '7' }, 'ROWFENCE_CONFLICT'],
    [
      'a Prisma UniqueConstraintViolation',
      {
        cause: { kind: 'UniqueConstraintViolation', constraint: { fields: ['x'] } },
        name: 'DriverAdapterError',
      },
      'ROWFENCE_CONFLICT',
    ],
    [
      'a nested RowfenceError',
      { cause: new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT') },
      'ROWFENCE_NO_TENANT_CONTEXT',
    ],
  ])('%s', (_label, error, code) => {
    expect(fromDatabaseError(error).code).toBe(code)
  })

  it('isRowfenceError looks through causes and survives cycles', () => {
    const cyclic: { cause?: unknown } = {}
    cyclic.cause = cyclic
    expect(isRowfenceError(cyclic)).toBe(false)
    expect(isRowfenceError({ cause: new RowfenceError('ROWFENCE_FORBIDDEN') }, 'ROWFENCE_FORBIDDEN')).toBe(
      true,
    )
  })
})
