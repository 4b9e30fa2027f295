import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { asTenant, fromDatabaseError, isRowfenceError, withTenant } from '@rowfence/core'
import { TenantPostgresDialect } from '@rowfence/kysely'
import { Kysely, sql, type Generated } from 'kysely'
import type pg from 'pg'
import Cursor from 'pg-cursor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  awkward,
  countRoundTrips,
  itemsOf,
  ormFixtureSql,
  tenantA as A,
  tenantB as B,
} from '../../../test/support/orm-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

interface Database {
  items: { tenant_id: string; id: Generated<string>; title: string }
  item_notes: { tenant_id: Generated<string>; id: Generated<string>; item_id: string; body: string }
  type_samples: {
    tenant_id: Generated<string>
    id: Generated<string>
    at: string | Date
    doc: unknown
    amount: string
    tags: string[]
    big: string
  }
}

let db: TestDatabase
let pool: pg.Pool
let orm: Kysely<Database>
let dialect: TenantPostgresDialect
beforeAll(async () => {
  db = await createTestDatabase()
  await db.pool('owner').query(ormFixtureSql)
  pool = db.pool('app')
  dialect = new TenantPostgresDialect({ pool, cursor: Cursor })
  orm = new Kysely<Database>({ dialect })
})
afterAll(async () => db.drop())

const asA = { tenantId: A.id }
const bTitles = async () =>
  (await asTenant({ tenantId: B.id }, () => orm.selectFrom('items').select('title').execute()))
    .map((row) => row.title)
    .sort()

describe('the attacker matrix through the Kysely API: tenant A goes after B', () => {
  it('reads: none of B, not even by id or tenant_id', async () => {
    const seen = await withTenant(pool, asA, async () => ({
      all: await orm.selectFrom('items').selectAll().execute(),
      byTenant: await orm.selectFrom('items').selectAll().where('tenant_id', '=', B.id).execute(),
      byId: await orm.selectFrom('items').selectAll().where('id', '=', itemsOf(B.id)[0]!.id).execute(),
    }))
    expect(seen.all).toHaveLength(itemsOf(A.id).length)
    expect(seen.all.every((row) => row.tenant_id === A.id)).toBe(true)
    expect(seen.byTenant).toEqual([])
    expect(seen.byId).toEqual([])
  })

  it('insert with B as tenant_id: ROWFENCE_FORBIDDEN; update/delete of B: 0 rows; B unchanged', async () => {
    const before = await bTitles()
    const insert = await asTenant(asA, () =>
      orm.insertInto('items').values({ tenant_id: B.id, title: 'planted' }).execute(),
    ).catch((error: unknown) => error)
    expect(fromDatabaseError(insert)).toMatchObject({ code: 'ROWFENCE_FORBIDDEN', statusCode: 403 })
    const counts = await withTenant(pool, asA, async () => ({
      update: (
        await orm
          .updateTable('items')
          .set({ title: 'pwned' })
          .where('tenant_id', '=', B.id)
          .executeTakeFirst()
      ).numUpdatedRows,
      delete: (await orm.deleteFrom('items').where('id', '=', itemsOf(B.id)[0]!.id).executeTakeFirst())
        .numDeletedRows,
    }))
    expect(counts).toEqual({ update: 0n, delete: 0n })
    expect(await bTitles()).toEqual(before)
  })

  it("references B's row: the composite foreign key refuses", async () => {
    const error = await asTenant(asA, () =>
      orm
        .insertInto('item_notes')
        .values({ item_id: itemsOf(B.id)[0]!.id, body: 'x' })
        .execute(),
    ).catch((caught: unknown) => caught)
    expect(fromDatabaseError(error)).toMatchObject({ code: 'ROWFENCE_NOT_FOUND' })
  })

  it('refuses to run without a context', async () => {
    const error = await orm
      .selectFrom('items')
      .selectAll()
      .execute()
      .catch((caught: unknown) => caught)
    expect(isRowfenceError(error, 'ROWFENCE_NO_TENANT_CONTEXT')).toBe(true)
  })
})

describe('Kysely transactions inside the tenant context', () => {
  it('db.transaction() inside withTenant is a savepoint of the same transaction: commit, rollback, nested', async () => {
    const result = await withTenant(pool, asA, async () => {
      const outer = await sql<{ xid: string }>`SELECT txid_current()::text AS xid`.execute(orm)
      const trx = await orm.startTransaction().execute()
      await trx.insertInto('items').values({ tenant_id: A.id, title: 'kysely-commit' }).execute()
      const savepoint = await trx.savepoint('sp1').execute()
      await savepoint.insertInto('items').values({ tenant_id: A.id, title: 'kysely-nested-undone' }).execute()
      await savepoint.rollbackToSavepoint('sp1').execute()
      const inner = await sql<{ xid: string; tenant: string }>`
        SELECT txid_current()::text AS xid, rowfence.current_tenant_id()::text AS tenant`.execute(trx)
      await trx.commit().execute()
      await orm
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('items').values({ tenant_id: A.id, title: 'kysely-rolled-back' }).execute()
          throw new Error('undo')
        })
        .catch(() => undefined)
      const titles = (await orm.selectFrom('items').select('title').execute()).map((row) => row.title)
      return { outer: outer.rows[0]!.xid, inner: inner.rows[0], titles }
    })
    expect(result.inner).toEqual({ xid: result.outer, tenant: A.id })
    expect(result.titles).toContain('kysely-commit')
    expect(result.titles).not.toContain('kysely-rolled-back')
    expect(result.titles).not.toContain('kysely-nested-undone')
  })

  it('db.transaction() inside asTenant is one tenant transaction with its isolation level; a throw rolls back', async () => {
    await asTenant(asA, () =>
      orm
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('items').values({ tenant_id: A.id, title: 'kysely-scope-undone' }).execute()
          throw new Error('undo')
        })
        .catch(() => undefined),
    )
    const committed = await asTenant(asA, () =>
      orm
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          await trx.insertInto('items').values({ tenant_id: A.id, title: 'kysely-scope-kept' }).execute()
          return sql<{ tenant: string; isolation: string }>`
            SELECT rowfence.current_tenant_id()::text AS tenant, current_setting('transaction_isolation') AS isolation`.execute(
            trx,
          )
        }),
    )
    expect(committed.rows[0]).toEqual({ tenant: A.id, isolation: 'serializable' })
    const titles = await asTenant(asA, () =>
      orm.selectFrom('items').select('title').where('title', 'like', 'kysely-scope-%').execute(),
    )
    expect(titles).toEqual([{ title: 'kysely-scope-kept' }])
  })

  it('streams with a cursor inside withTenant and inside asTenant', async () => {
    const streamed = async () => {
      const rows: string[] = []
      for await (const row of orm.selectFrom('items').select('tenant_id').stream(2)) rows.push(row.tenant_id)
      return rows
    }
    const inTransaction = await withTenant(pool, asA, streamed)
    const inScope = await asTenant(asA, streamed)
    const count = await asTenant(asA, () => orm.selectFrom('items').select('id').execute())
    expect(inTransaction).toHaveLength(count.length)
    expect(inScope).toEqual(inTransaction)
    expect(new Set(inScope)).toEqual(new Set([A.id]))
  })

  it('a nested withTenant for the same tenant reuses the transaction (max: 1 pool)', async () => {
    const small = db.pool('app', { max: 1 })
    const smallOrm = new Kysely<Database>({ dialect: new TenantPostgresDialect({ pool: small }) })
    const rows = await withTenant(small, asA, () =>
      withTenant(small, asA, () => smallOrm.selectFrom('items').selectAll().execute()),
    )
    expect(rows.length).toBeGreaterThan(0)
  })
})

describe('values and errors', () => {
  it('round-trips timestamptz microseconds, jsonb, numeric, arrays and bigint exactly', async () => {
    const row = await withTenant(pool, asA, async () => {
      await orm
        .insertInto('type_samples')
        .values({
          at: awkward.at,
          doc: JSON.stringify(awkward.doc),
          amount: awkward.amount,
          tags: [...awkward.tags],
          big: awkward.big,
        })
        .execute()
      return orm
        .selectFrom('type_samples')
        .select([sql<string>`at::text`.as('at'), 'doc', 'amount', 'tags', 'big', 'tenant_id'])
        .executeTakeFirstOrThrow()
    })
    expect(row).toEqual({ tenant_id: A.id, ...awkward, tags: [...awkward.tags] })
  })

  it('a lazy query (a Kysely builder is thenable-free: its execute() promise) returned without await runs inside the context', async () => {
    const rows = await withTenant(pool, asA, () => orm.selectFrom('items').selectAll().execute())
    expect(rows.length).toBeGreaterThan(0)
  })

  it('maps 23505 to ROWFENCE_CONFLICT', async () => {
    const title = itemsOf(A.id)[0]!.title
    const error = await asTenant(asA, () =>
      orm.insertInto('items').values({ tenant_id: A.id, title }).execute(),
    ).catch((caught: unknown) => caught)
    expect(fromDatabaseError(error)).toMatchObject({ code: 'ROWFENCE_CONFLICT', statusCode: 409 })
  })
})

describe('round trips', () => {
  it('one statement in asTenant: 1; a transaction of two statements: 3', async () => {
    const small = db.pool('app', { max: 1 })
    const counted = new Kysely<Database>({ dialect: new TenantPostgresDialect({ pool: small }) })
    const wire = await countRoundTrips(small)
    wire.reset()
    await asTenant(asA, () => counted.selectFrom('items').selectAll().execute())
    expect(wire.readyForQuery).toBe(1)
    wire.reset()
    await asTenant(asA, () =>
      counted.transaction().execute(async (trx) => {
        await trx.selectFrom('items').selectAll().execute()
        await trx.selectFrom('item_notes').selectAll().execute()
      }),
    )
    expect(wire.readyForQuery).toBe(3)
  })
})

/**
 * CI runs this file a second time on Node 24 with Kysely 0.29 installed over the locked 0.28 (0.29 needs
 * Node >= 22) and names the version it expects, so a silent fallback to 0.28 fails instead of passing.
 */
describe('the Kysely version under test', () => {
  const expected = process.env['ROWFENCE_EXPECT_KYSELY']
  it.runIf(expected)(`is ${expected ?? '(not asked)'}`, async () => {
    // kysely's exports hide its package.json: walk up from its entry point to it.
    let dir = dirname(createRequire(import.meta.url).resolve('kysely'))
    while (!existsSync(join(dir, 'package.json')) || basename(dir) !== 'kysely') dir = dirname(dir)
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
    expect(version).toMatch(new RegExp(`^${expected!.replaceAll('.', '\\.')}\\.`))
  })
})
