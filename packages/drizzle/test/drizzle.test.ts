import { asTenant, fromDatabaseError, isRowfenceError, withTenant } from '@rowfence/core'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { and, eq, sql } from 'drizzle-orm'
import { bigint, jsonb, numeric, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import type pg from 'pg'
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

const items = pgTable('items', {
  tenantId: uuid('tenant_id').notNull(),
  id: uuid('id').notNull().defaultRandom(),
  title: text('title').notNull(),
})
const itemNotes = pgTable('item_notes', {
  tenantId: uuid('tenant_id'),
  id: uuid('id').defaultRandom(),
  itemId: uuid('item_id').notNull(),
  body: text('body').notNull(),
})
const typeSamples = pgTable('type_samples', {
  tenantId: uuid('tenant_id'),
  at: timestamp('at', { withTimezone: true, mode: 'string', precision: 6 }).notNull(),
  doc: jsonb('doc').notNull(),
  amount: numeric('amount').notNull(),
  tags: text('tags').array().notNull(),
  big: bigint('big', { mode: 'bigint' }).notNull(),
})

let db: TestDatabase
let pool: pg.Pool
let orm: ReturnType<typeof createTenantDrizzle>
beforeAll(async () => {
  db = await createTestDatabase()
  await db.pool('owner').query(ormFixtureSql)
  pool = db.pool('app')
  orm = createTenantDrizzle(pool)
})
afterAll(async () => db.drop())

const asA = { tenantId: A.id }
const bTitles = async () =>
  (await asTenant({ tenantId: B.id }, () => orm.select({ title: items.title }).from(items)))
    .map((row) => row.title)
    .sort()

describe('the attacker matrix through the Drizzle API: tenant A goes after B', () => {
  it('reads: none of B, not even by id or tenant_id', async () => {
    const seen = await orm.withTenant(asA, async () => ({
      all: await orm.select().from(items),
      byTenant: await orm.select().from(items).where(eq(items.tenantId, B.id)),
      byId: await orm
        .select()
        .from(items)
        .where(eq(items.id, itemsOf(B.id)[0]!.id)),
    }))
    expect(seen.all).toHaveLength(itemsOf(A.id).length)
    expect(seen.all.every((row) => row.tenantId === A.id)).toBe(true)
    expect(seen.byTenant).toEqual([])
    expect(seen.byId).toEqual([])
  })

  it('insert with B as tenant_id: 42501 -> ROWFENCE_FORBIDDEN; update/delete of B: 0 rows; B unchanged', async () => {
    const before = await bTitles()
    const insert = await asTenant(asA, () =>
      orm.insert(items).values({ tenantId: B.id, title: 'planted' }),
    ).catch((error: unknown) => error)
    expect(fromDatabaseError(insert)).toMatchObject({ code: 'ROWFENCE_FORBIDDEN', statusCode: 403 })
    const counts = await orm.withTenant(asA, async () => ({
      update: (await orm.update(items).set({ title: 'pwned' }).where(eq(items.tenantId, B.id))).rowCount,
      delete: (await orm.delete(items).where(eq(items.id, itemsOf(B.id)[0]!.id))).rowCount,
    }))
    expect(counts).toEqual({ update: 0, delete: 0 })
    expect(await bTitles()).toEqual(before)
  })

  it("references B's row: the composite foreign key refuses (23503, not found)", async () => {
    const error = await asTenant(asA, () =>
      orm.insert(itemNotes).values({ itemId: itemsOf(B.id)[0]!.id, body: 'x' }),
    ).catch((caught: unknown) => caught)
    expect(fromDatabaseError(error)).toMatchObject({ code: 'ROWFENCE_NOT_FOUND' })
  })

  it('refuses to run without a context', async () => {
    const error = await orm
      .select()
      .from(items)
      .catch((caught: unknown) => caught)
    expect(isRowfenceError(error, 'ROWFENCE_NO_TENANT_CONTEXT')).toBe(true)
  })
})

describe('Drizzle transactions inside the tenant context', () => {
  it('db.transaction() inside withTenant is a savepoint of the same transaction: commit, rollback, nested', async () => {
    const result = await orm.withTenant(asA, async () => {
      const outer = await orm.execute<{ xid: string }>(sql`SELECT txid_current()::text AS xid`)
      const inner = await orm.transaction(async (tx) => {
        await tx.insert(items).values({ tenantId: A.id, title: 'drizzle-commit' })
        await tx
          .transaction(async (nested) => {
            await nested.insert(items).values({ tenantId: A.id, title: 'drizzle-nested-rolled-back' })
            nested.rollback()
          })
          .catch(() => undefined)
        return tx.execute<{ xid: string; tenant: string }>(
          sql`SELECT txid_current()::text AS xid, rowfence.current_tenant_id()::text AS tenant`,
        )
      })
      await orm
        .transaction(async (tx) => {
          await tx.insert(items).values({ tenantId: A.id, title: 'drizzle-rolled-back' })
          throw new Error('undo')
        })
        .catch(() => undefined)
      const titles = (await orm.select({ title: items.title }).from(items)).map((row) => row.title)
      return { outer: outer.rows[0]!.xid, inner: inner.rows[0], titles }
    })
    expect(result.inner).toEqual({ xid: result.outer, tenant: A.id })
    expect(result.titles).toContain('drizzle-commit')
    expect(result.titles).not.toContain('drizzle-rolled-back')
    expect(result.titles).not.toContain('drizzle-nested-rolled-back')
    const after = await asTenant(asA, () => orm.select().from(items).where(eq(items.title, 'drizzle-commit')))
    expect(after).toHaveLength(1)
  })

  it('db.transaction() inside asTenant is one tenant transaction; a throw rolls it back', async () => {
    await asTenant(asA, () =>
      orm
        .transaction(async (tx) => {
          await tx.insert(items).values({ tenantId: A.id, title: 'drizzle-scope-undone' })
          throw new Error('undo')
        })
        .catch(() => undefined),
    )
    const committed = await asTenant(asA, () =>
      orm.transaction(async (tx) => {
        await tx.insert(items).values({ tenantId: A.id, title: 'drizzle-scope-kept' })
        return tx.execute<{ tenant: string }>(sql`SELECT rowfence.current_tenant_id()::text AS tenant`)
      }),
    )
    expect(committed.rows[0]?.tenant).toBe(A.id)
    const titles = await asTenant(asA, () =>
      orm
        .select({ title: items.title })
        .from(items)
        .where(and(eq(items.tenantId, A.id), sql`${items.title} LIKE 'drizzle-scope-%'`)),
    )
    expect(titles).toEqual([{ title: 'drizzle-scope-kept' }])
  })

  it('a raw COMMIT through the ORM cannot end the tenant transaction early', async () => {
    const error = await orm
      .withTenant(asA, async () => {
        await orm.select().from(items)
        await orm.execute(sql`commit`)
      })
      .catch((caught: unknown) => caught)
    expect(isRowfenceError(error, 'ROWFENCE_TRANSACTION_CONTROL')).toBe(true)
  })

  it('a nested withTenant for the same tenant reuses the transaction (max: 1 pool), another tenant is refused', async () => {
    const small = createTenantDrizzle(db.pool('app', { max: 1 }))
    const rows = await small.withTenant(asA, () => small.withTenant(asA, () => small.select().from(items)))
    expect(rows.length).toBeGreaterThan(0)
    const error = await small
      .withTenant(asA, () => small.withTenant({ tenantId: B.id }, () => small.select().from(items)))
      .catch((caught: unknown) => caught)
    expect(isRowfenceError(error, 'ROWFENCE_TENANT_MISMATCH')).toBe(true)
  })
})

describe('values and errors', () => {
  it('round-trips timestamptz microseconds, jsonb, numeric, arrays and bigint exactly', async () => {
    const row = await orm.withTenant(asA, async () => {
      await orm.insert(typeSamples).values({
        at: awkward.at,
        doc: awkward.doc,
        amount: awkward.amount,
        tags: [...awkward.tags],
        big: BigInt(awkward.big),
      })
      return (await orm.select().from(typeSamples))[0]!
    })
    expect(row).toEqual({
      tenantId: A.id,
      at: awkward.at,
      doc: awkward.doc,
      amount: awkward.amount,
      tags: awkward.tags,
      big: BigInt(awkward.big),
    })
  })

  it('a lazy query returned without await runs inside the context', async () => {
    const rows = await orm.withTenant(asA, () => orm.select().from(items))
    expect(rows.length).toBe((await asTenant(asA, () => orm.select().from(items))).length)
    const viaCore = await withTenant(pool, asA, () => orm.select().from(items))
    expect(viaCore.length).toBe(rows.length)
  })

  it('maps 23505 to ROWFENCE_CONFLICT through DrizzleQueryError', async () => {
    const title = itemsOf(A.id)[0]!.title
    const error = await asTenant(asA, () => orm.insert(items).values({ tenantId: A.id, title })).catch(
      (caught: unknown) => caught,
    )
    expect(fromDatabaseError(error)).toMatchObject({ code: 'ROWFENCE_CONFLICT', statusCode: 409 })
  })
})

describe('round trips', () => {
  it('one statement in asTenant: 1; a transaction of two statements: 3 (BEGIN+context+first, second, COMMIT)', async () => {
    const counted = createTenantDrizzle(db.pool('app', { max: 1 }))
    const wire = await countRoundTrips(counted.$client.pool)
    wire.reset()
    await asTenant(asA, () => counted.select().from(items))
    expect(wire.readyForQuery).toBe(1)
    wire.reset()
    await asTenant(asA, () =>
      counted.transaction(async (tx) => {
        await tx.select().from(items)
        await tx.select().from(itemNotes)
      }),
    )
    expect(wire.readyForQuery).toBe(3)
    wire.reset()
    await counted.withTenant(asA, async () => {
      await counted.select().from(items)
      await counted.select().from(itemNotes)
    })
    expect(wire.readyForQuery).toBe(3)
  })
})
