import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseContextKey, queryAsTenant, withTenant } from '@rowfence/core'
import { checkDatabase } from '@rowfence/core/check'
import { addContextKey, retireContextKey } from '@rowfence/core/migrate'
import { itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/**
 * The generated tenant sign-up function on the demo database (migration 0006, signed since 0007), called as the app role:
 * it creates a tenant and its first user, and it is no way into any other tenant.
 */

const [A, B] = itemsDemo.tenants as [{ id: string; name: string }, { id: string; name: string }]

let db: TestDatabase
let app: pg.Pool
let admin: pg.Pool

/** Everything of tenant B, read as the superuser (RLS does not filter it). */
const tenantB = async () =>
  (
    await admin.query(
      `SELECT (SELECT json_agg(t ORDER BY t.id) FROM tenants t WHERE id = $1) AS tenants,
              (SELECT json_agg(u ORDER BY u.id) FROM users u WHERE tenant_id = $1) AS users,
              (SELECT json_agg(i ORDER BY i.id) FROM items i WHERE tenant_id = $1) AS items`,
      [B.id],
    )
  ).rows[0]

let bBefore: unknown
beforeAll(async () => {
  db = await createTestDatabase()
  app = db.pool('app')
  admin = db.pool('admin')
  bBefore = await tenantB()
})
afterAll(async () => db?.drop())

const signUp = (pool: pg.Pool | pg.PoolClient, name: string, user = 'founder') =>
  pool.query<{ new_tenant_id: string; new_member_id: string }>('SELECT * FROM rowfence.sign_up($1, $2, $3)', [
    name,
    user,
    'scrypt$not-a-real-hash',
  ])

describe('rowfence.sign_up (generated SECURITY DEFINER function)', () => {
  it('creates a tenant and its first user for the app role, which cannot insert tenants itself', async () => {
    await expect(app.query(`INSERT INTO tenants (name) VALUES ('by hand')`)).rejects.toMatchObject({
      code: '42501',
    })
    const { rows } = await signUp(app, 'Initech')
    const { new_tenant_id: tenant, new_member_id: user } = rows[0]!
    const seen = await withTenant(app, { tenantId: tenant }, async (tx) => ({
      tenants: (await tx.query('SELECT id, name FROM tenants')).rows,
      users: (await tx.query('SELECT id, name FROM users')).rows,
    }))
    expect(seen).toEqual({
      tenants: [{ id: tenant, name: 'Initech' }],
      users: [{ id: user, name: 'founder' }],
    })
  })

  it("called inside tenant A's transaction: A's context is back afterwards, the new tenant invisible", async () => {
    const result = await withTenant(app, { tenantId: A.id }, async (tx) => {
      await tx.query('SELECT * FROM rowfence.sign_up($1, $2, $3)', ['Hooli', 'gavin', 'x'])
      return {
        // The demo schema's signed context: the sign-up signs the new tenant's context itself, then
        // restores A's value, which still verifies as A.
        setting: (await tx.query(`SELECT rowfence.current_tenant_id() AS t`)).rows[0]!.t as string,
        tenants: (await tx.query('SELECT name FROM tenants')).rows,
      }
    })
    expect(result).toEqual({ setting: A.id, tenants: [{ name: A.name }] })
  })

  it("cannot be used to join or overwrite tenant B: B's name is taken, the call fails, nothing is written", async () => {
    await expect(signUp(app, B.name, 'intruder')).rejects.toMatchObject({ code: '23505' })
    const intruders = await admin.query(`SELECT count(*)::int AS n FROM users WHERE name = 'intruder'`)
    expect(intruders.rows[0].n).toBe(0)
    expect(await tenantB()).toEqual(bBefore)
  })

  it('reads nothing: its result is the two new ids, whatever the arguments', async () => {
    const { rows, fields } = await signUp(
      app,
      `x' OR true; SELECT * FROM users --`,
      `'); DELETE FROM users; --`,
    )
    expect(fields.map((field) => field.name)).toEqual(['new_tenant_id', 'new_member_id'])
    expect(rows).toHaveLength(1)
    const created = await queryAsTenant(app, { tenantId: rows[0]!.new_tenant_id }, 'SELECT name FROM tenants')
    expect(created.rows).toEqual([{ name: `x' OR true; SELECT * FROM users --` }])
    expect(await tenantB()).toEqual(bBefore)
  })

  it('runs with a pinned search_path (pg_catalog first, pg_temp last) and is executable by the app role only', async () => {
    const { rows } = await admin.query(
      `
      SELECT p.proconfig, p.prosecdef,
             has_function_privilege('public', p.oid, 'EXECUTE') AS public_can,
             has_function_privilege($1, p.oid, 'EXECUTE') AS app_can
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'rowfence' AND p.proname = 'sign_up'`,
      [db.cluster.appRole],
    )
    expect(rows).toEqual([
      {
        proconfig: ['search_path=pg_catalog, public, pg_temp'],
        prosecdef: true,
        public_can: false,
        app_can: true,
      },
    ])
  })

  it('rowfence check accepts it as generated, and flags it the moment its body is edited', async () => {
    const check = async () =>
      (
        await checkDatabase(db.pool('owner'), { schema: 'public', appRole: db.cluster.appRole })
      ).findings.filter((finding) => finding.ruleId === 'security-definer-function')
    expect(await check()).toEqual([])
    const owner = db.pool('owner')
    const { rows } = await owner.query<{ definition: string }>(
      `SELECT pg_get_functiondef('rowfence.sign_up(text, text, text)'::regprocedure) AS definition`,
    )
    // A "small" edit: the first user goes into a tenant the caller names instead of the new one.
    const tampered = rows[0]!.definition.replace(
      `VALUES (new_tenant_id, "p_member_name"`,
      `VALUES ((SELECT id FROM tenants WHERE name = "p_member_name"), "p_member_name"`,
    )
    expect(tampered).not.toBe(rows[0]!.definition)
    await owner.query(tampered)
    try {
      expect(await check()).toEqual([
        expect.objectContaining({ severity: 'error', object: expect.stringContaining('"sign_up"') }),
      ])
    } finally {
      await owner.query(rows[0]!.definition)
    }
    expect(await check()).toEqual([])
  })
  it("signs the new tenant's context with the newest active key; with none active it fails and writes nothing", async () => {
    const owner = db.pool('owner')
    const key = parseContextKey(db.cluster.contextKey)
    expect(await retireContextKey(owner, key.id)).toBe(true)
    try {
      await expect(signUp(app, 'Keyless Inc')).rejects.toMatchObject({ code: '55000' })
    } finally {
      await addContextKey(owner, key)
    }
    const written = await admin.query(`SELECT count(*)::int AS n FROM tenants WHERE name = 'Keyless Inc'`)
    expect(written.rows[0].n).toBe(0)
    // Another active key, newer: the sign-up signs with it, and the tenant's own requests (signed with
    // the run's key) see what it wrote.
    await addContextKey(owner, { id: 'newer', secret: 'ab'.repeat(32) })
    try {
      const { rows } = await signUp(app, 'Pied Piper')
      const seen = await withTenant(
        app,
        { tenantId: rows[0]!.new_tenant_id },
        async (tx) => (await tx.query('SELECT name FROM users')).rows,
      )
      expect(seen).toEqual([{ name: 'founder' }])
    } finally {
      await retireContextKey(owner, 'newer')
    }
  })
})
