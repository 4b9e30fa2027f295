import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quoteIdentifier as q, withTenant } from '@rowfence/core'
import { migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/** Hostile names and values go into real DDL; the table `t` they try to drop must survive. */

const HOSTILE = 'x"; drop table t --'
const NEWLINE = 'a\nDROP TABLE t; --'
const APOSTROPHE = "Robert'); DROP TABLE t;--"
const DEFAULT = "'); DROP TABLE t; --\\"

const tenants = tenantsTable('select', { columns: { id: uuid().primaryKey(), 'Name ""': text().unique() } })
const parent = tenantTable(APOSTROPHE, { columns: { 'Mixed Case': uuid().primaryKey() } })
const hostile = tenantTable(HOSTILE, {
  columns: {
    [HOSTILE]: uuid().primaryKey(),
    user: uuid(),
    order: text().notNull().default(DEFAULT).unique(),
  },
  references: [{ columns: ['user'], table: parent }],
  policies: { write: { ownerColumn: 'user' } },
})
const multiline = tenantTable(NEWLINE, { columns: { from: uuid().primaryKey() } })
const schema = rowfenceSchema({
  tables: [tenants, parent, hostile, multiline],
  appRole: 'rowfence_app',
  context: { signed: false },
})

const A = randomUUID()
const B = randomUUID()
const user = randomUUID()

let db: TestDatabase
let owner: pg.Pool
let app: pg.Pool

beforeAll(async () => {
  db = await createTestDatabase({ empty: true })
  owner = db.pool('owner')
  app = db.pool('app')
  await owner.query(`CREATE TABLE t (x int); INSERT INTO t VALUES (42)`)
  await migrate(owner, { migrations: [migrationFrom('0001_hostile', renderSchema(schema))] })
})

afterAll(async () => db.drop())

describe('hostile identifiers and values', () => {
  it('leave the table t alone', async () => {
    expect((await owner.query('SELECT x FROM t')).rows).toEqual([{ x: 42 }])
  })

  it('become exactly the tables, columns and policies they name', async () => {
    const tables = await owner.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname`,
    )
    expect(tables.rows.map((row) => row.relname).sort()).toEqual(
      [APOSTROPHE, NEWLINE, 'select', 't', HOSTILE].sort(),
    )
    const columns = await owner.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`,
      [q(HOSTILE)],
    )
    expect(columns.rows.map((row) => row.attname)).toEqual(['tenant_id', HOSTILE, 'user', 'order'])
    const policies = await owner.query<{ policyname: string }>(
      'SELECT policyname FROM pg_policies WHERE tablename = $1 ORDER BY policyname',
      [HOSTILE],
    )
    expect(policies.rows.map((row) => row.policyname)).toEqual(
      ['delete', 'insert', 'select', 'tenant_floor', 'update'].map((suffix) => `${HOSTILE}_${suffix}`),
    )
    const forced = await owner.query(
      'SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass',
      [q(HOSTILE)],
    )
    expect(forced.rows).toEqual([{ relrowsecurity: true, relforcerowsecurity: true }])
  })

  it('work through the tenant context, with the literal default intact and isolation holding', async () => {
    for (const tenant of [A, B]) {
      await withTenant(owner, { tenantId: tenant }, (tx) =>
        tx.query(`INSERT INTO ${q('select')} (id) VALUES ($1)`, [tenant]),
      )
    }
    const parentId = user // the parent plays the users table: the owner column points at it
    await withTenant(app, { tenantId: A, userId: user }, async (tx) => {
      await tx.query(`INSERT INTO ${q(APOSTROPHE)} (tenant_id, ${q('Mixed Case')}) VALUES ($1, $2)`, [
        A,
        parentId,
      ])
      await tx.query(
        `INSERT INTO ${q(HOSTILE)} (tenant_id, ${q(HOSTILE)}, ${q('user')}) VALUES ($1, $2, $3)`,
        [A, randomUUID(), parentId],
      )
    })
    const mine = await withTenant(app, { tenantId: A, userId: user }, (tx) =>
      tx.query(`SELECT ${q('order')} AS value FROM ${q(HOSTILE)}`),
    )
    expect(mine.rows).toEqual([{ value: DEFAULT }])
    const theirs = await withTenant(app, { tenantId: B }, (tx) => tx.query(`SELECT * FROM ${q(HOSTILE)}`))
    expect(theirs.rows).toEqual([])
    await expect(
      withTenant(app, { tenantId: B, userId: user }, (tx) =>
        tx.query(`INSERT INTO ${q(HOSTILE)} (tenant_id, ${q(HOSTILE)}, ${q('user')}) VALUES ($1, $2, $3)`, [
          B,
          randomUUID(),
          parentId,
        ]),
      ),
    ).rejects.toMatchObject({ code: '23503' })
    expect((await owner.query('SELECT x FROM t')).rows).toEqual([{ x: 42 }])
  })
})
