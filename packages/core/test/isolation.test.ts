import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryAsTenant, withTenant } from '@rowfence/core'
import { itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

// Attacker-style checks: the app role, inside a context for tenant A, goes after tenant B's rows.
const [A, B] = itemsDemo.tenants as [{ id: string; name: string }, { id: string; name: string }]
const bItems = itemsDemo.items.filter((item) => item.tenant_id === B.id)
const aItems = itemsDemo.items.filter((item) => item.tenant_id === A.id)

let db: TestDatabase
let app: pg.Pool
beforeAll(async () => {
  db = await createTestDatabase()
  app = db.pool('app')
  // A child table built the way the schema rules demand: composite key and composite foreign key.
  await db.pool('owner').query(`
      CREATE TABLE item_notes (
        tenant_id uuid NOT NULL REFERENCES tenants (id),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        item_id uuid NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, item_id) REFERENCES items (tenant_id, id)
      );
      ALTER TABLE item_notes ENABLE ROW LEVEL SECURITY;
      ALTER TABLE item_notes FORCE ROW LEVEL SECURITY;
      CREATE POLICY item_notes_tenant_floor ON item_notes AS RESTRICTIVE FOR ALL TO PUBLIC
        USING (tenant_id = (SELECT rowfence.current_tenant_id()))
        WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
      CREATE POLICY item_notes_tenant_access ON item_notes AS PERMISSIVE FOR ALL TO PUBLIC
        USING (tenant_id = (SELECT rowfence.current_tenant_id()))
        WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
      GRANT SELECT, INSERT, UPDATE, DELETE ON item_notes TO rowfence_app;`)
})
afterAll(async () => db.drop())

/** B's items as B itself sees them: the reference for "unchanged". */
async function bSnapshot(): Promise<unknown[]> {
  return (await queryAsTenant(app, { tenantId: B.id }, 'SELECT id, title, tenant_id FROM items ORDER BY id'))
    .rows
}

describe(`tenant A (${A.name}) cannot reach tenant B (${B.name})`, () => {
  it('sees none of B: no items, no tenant row, not even by id', async () => {
    const seen = await withTenant(app, { tenantId: A.id }, async (tx) => ({
      items: (await tx.query('SELECT tenant_id FROM items')).rows,
      byId: (
        await tx.query('SELECT * FROM items WHERE id = ANY($1::uuid[])', [bItems.map((item) => item.id)])
      ).rowCount,
      byTenant: (await tx.query('SELECT * FROM items WHERE tenant_id = $1', [B.id])).rowCount,
      tenants: (await tx.query('SELECT id FROM tenants')).rows,
    }))
    expect(seen.items).toHaveLength(aItems.length)
    expect(seen.items.every((row) => row.tenant_id === A.id)).toBe(true)
    expect(seen.byId).toBe(0)
    expect(seen.byTenant).toBe(0)
    expect(seen.tenants).toEqual([{ id: A.id }])
  })

  it("cannot INSERT a row carrying B's tenant_id", async () => {
    await expect(
      withTenant(app, { tenantId: A.id }, (tx) =>
        tx.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'planted')`, [B.id]),
      ),
    ).rejects.toMatchObject({ code: '42501' })
    expect((await bSnapshot()).some((row) => (row as { title: string }).title === 'planted')).toBe(false)
  })

  it("UPDATE and DELETE of B's rows affect 0 rows and B is unchanged", async () => {
    const before = await bSnapshot()
    const counts = await withTenant(app, { tenantId: A.id }, async (tx) => ({
      updateAll: (await tx.query(`UPDATE items SET title = title || '-pwned'`)).rowCount,
      updateB: (await tx.query(`UPDATE items SET title = 'pwned' WHERE tenant_id = $1`, [B.id])).rowCount,
      deleteB: (
        await tx.query('DELETE FROM items WHERE id = ANY($1::uuid[])', [bItems.map((item) => item.id)])
      ).rowCount,
    }))
    expect(counts).toEqual({ updateAll: aItems.length, updateB: 0, deleteB: 0 })
    expect(await bSnapshot()).toEqual(before)
    // Undo A's own rename so later tests see the fixture titles.
    await withTenant(app, { tenantId: A.id }, (tx) =>
      tx.query(`UPDATE items SET title = replace(title, '-pwned', '')`),
    )
  })

  it("cannot move its own row into B (UPDATE tenant_id to B's)", async () => {
    await expect(
      withTenant(app, { tenantId: A.id }, (tx) =>
        tx.query('UPDATE items SET tenant_id = $1 WHERE id = $2', [B.id, aItems[0]!.id]),
      ),
    ).rejects.toMatchObject({ code: '42501' })
    const { rows } = await queryAsTenant(
      app,
      { tenantId: A.id },
      'SELECT tenant_id FROM items WHERE id = $1',
      [aItems[0]!.id],
    )
    expect(rows).toEqual([{ tenant_id: A.id }])
  })

  it("cannot point a row of its own at B's parent row (composite foreign key)", async () => {
    await expect(
      withTenant(app, { tenantId: A.id }, (tx) =>
        tx.query(`INSERT INTO item_notes (tenant_id, item_id, body) VALUES ($1, $2, 'x')`, [
          A.id,
          bItems[0]!.id,
        ]),
      ),
    ).rejects.toMatchObject({ code: '23503' })
    // While its own parent works, so the failure above is the tenant boundary and nothing else.
    await expect(
      withTenant(app, { tenantId: A.id }, (tx) =>
        tx.query(`INSERT INTO item_notes (tenant_id, item_id, body) VALUES ($1, $2, 'ok')`, [
          A.id,
          aItems[0]!.id,
        ]),
      ),
    ).resolves.toMatchObject({ rowCount: 1 })
  })
})

describe('fail closed in the database', () => {
  it('the app role with no context set sees 0 rows and cannot write', async () => {
    const client = await app.connect()
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 0 }])
      expect((await client.query('SELECT count(*)::int AS n FROM tenants')).rows).toEqual([{ n: 0 }])
      await expect(
        client.query(`INSERT INTO items (tenant_id, title) VALUES ($1, 'nocontext')`, [A.id]),
      ).rejects.toMatchObject({
        code: '42501',
      })
      // After a session once set the setting, current_setting() returns '' (not NULL): still nothing.
      await client.query(`SELECT set_config('rowfence.tenant_id', $1, false)`, [A.id])
      await client.query(`SELECT set_config('rowfence.tenant_id', '', false)`)
      expect((await client.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 0 }])
    } finally {
      client.release(true)
    }
  })

  it('FORCE applies to the owner role too: no context, no rows', async () => {
    const { rows } = await db.pool('owner').query('SELECT count(*)::int AS n FROM items')
    expect(rows).toEqual([{ n: 0 }])
  })
})
