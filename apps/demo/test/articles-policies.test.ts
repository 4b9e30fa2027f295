import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withTenant } from '@rowfence/core'
import { articlesDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

const [alpha, bravo, charlie] = articlesDemo as [
  (typeof articlesDemo)[number],
  (typeof articlesDemo)[number],
  (typeof articlesDemo)[number],
]
const alpha0 = alpha.users[0]!

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())

describe('database policies of the articles app (app role, in a context)', () => {
  it("rejects the Rails demo's planted row: tenant_id = bravo pointing at an alpha user", async () => {
    await expect(
      withTenant(db.pool('app'), { tenantId: alpha.id, userId: alpha0.id }, (tx) =>
        tx.query(`INSERT INTO articles (tenant_id, user_id, title) VALUES ($1, $2, 'planted')`, [
          bravo.id,
          alpha0.id,
        ]),
      ),
    ).rejects.toMatchObject({ code: '42501' })
    const { rows } = await db
      .pool('admin')
      .query(`SELECT count(*)::int AS n FROM articles WHERE title = 'planted'`)
    expect(rows).toEqual([{ n: 0 }])
  })

  it('cannot read password hashes or write users', async () => {
    const context = { tenantId: alpha.id, userId: alpha0.id }
    await expect(
      withTenant(db.pool('app'), context, (tx) => tx.query('SELECT password_hash FROM users')),
    ).rejects.toMatchObject({
      code: '42501',
    })
    await expect(
      withTenant(db.pool('app'), context, (tx) =>
        tx.query(`UPDATE users SET name = 'x' WHERE id = $1`, [alpha0.id]),
      ),
    ).rejects.toMatchObject({ code: '42501' })
  })

  it('cannot touch the storage counters, the audit trail or the operators', async () => {
    const context = { tenantId: alpha.id, userId: alpha0.id }
    for (const sql of [
      `UPDATE tenant_storage SET bytes = 0`,
      `DELETE FROM tenant_storage`,
      `SELECT * FROM admin_audit`,
      `INSERT INTO admin_audit (operator_id, method, path) VALUES (gen_random_uuid(), 'GET', '/')`,
      `SELECT * FROM platform_operators`,
    ]) {
      await expect(
        withTenant(db.pool('app'), context, (tx) => tx.query(sql)),
        sql,
      ).rejects.toMatchObject({ code: '42501' })
    }
  })
})

describe('the admin role (rowfence_admin)', () => {
  it('reads every tenant through its own policies, and nothing but reads', async () => {
    const admin = db.pool('operator')
    const { rows } = await admin.query('SELECT name FROM tenants ORDER BY name')
    expect(rows.map((row) => row.name)).toEqual(expect.arrayContaining(['alpha', 'bravo', 'charlie']))
    expect((await admin.query('SELECT count(*)::int AS n FROM articles')).rows[0].n).toBe(18)
    await expect(admin.query(`UPDATE articles SET title = 'x'`)).rejects.toMatchObject({ code: '42501' })
    await expect(admin.query('DELETE FROM articles')).rejects.toMatchObject({ code: '42501' })
    await expect(admin.query('SELECT password_hash FROM users')).rejects.toMatchObject({ code: '42501' })
    await expect(admin.query('UPDATE admin_audit SET path = $1', ['/'])).rejects.toMatchObject({
      code: '42501',
    })
    await expect(admin.query('DELETE FROM admin_audit')).rejects.toMatchObject({ code: '42501' })
  })

  it('is not superuser and has no BYPASSRLS', async () => {
    const { rows } = await db
      .pool('admin')
      .query(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'rowfence_admin'`)
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false }])
  })

  it('the login role reads names and hashes only', async () => {
    const auth = db.pool('auth')
    expect((await auth.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBeGreaterThanOrEqual(9)
    await expect(auth.query('SELECT title FROM articles')).rejects.toMatchObject({ code: '42501' })
    await expect(auth.query('SELECT * FROM items')).rejects.toMatchObject({ code: '42501' })
    await expect(auth.query(`UPDATE users SET name = 'x'`)).rejects.toMatchObject({ code: '42501' })
  })
})

describe('storage accounting', () => {
  it('equals a recomputation after 200 concurrent writes from several tenants', async () => {
    const app = db.pool('app', { max: 12 })
    const writers = [alpha, bravo, charlie].flatMap((tenant) =>
      tenant.users.map((user) => ({ tenant, user })),
    )
    const created: Array<{ tenantId: string; userId: string; id: string }> = []
    await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const { tenant, user } = writers[i % writers.length]!
        const { rows } = await withTenant(app, { tenantId: tenant.id, userId: user.id }, (tx) =>
          tx.query<{ id: string }>(
            `INSERT INTO articles (tenant_id, user_id, title, body, pages) VALUES ($1, $2, $3, repeat('x', $4), $5) RETURNING id`,
            [tenant.id, user.id, `load ${i}`, (i * 37) % 500, i % 50],
          ),
        )
        created.push({ tenantId: tenant.id, userId: user.id, id: rows[0]!.id })
      }),
    )
    await Promise.all(
      created
        .slice(0, 80)
        .map((article, i) =>
          withTenant(app, { tenantId: article.tenantId, userId: article.userId }, (tx) =>
            i % 2 === 0
              ? tx.query(`UPDATE articles SET body = repeat('y', $2), pages = pages + 1 WHERE id = $1`, [
                  article.id,
                  (i * 53) % 900,
                ])
              : tx.query('DELETE FROM articles WHERE id = $1', [article.id]),
          ),
        ),
    )
    const superuser = db.pool('admin')
    const counters = await superuser.query(
      `SELECT tenant_id, table_name, row_count::int AS rows, bytes::int AS bytes FROM tenant_storage ORDER BY 1, 2`,
    )
    const recomputed = await superuser.query(
      `SELECT tenant_id, table_name, rows, bytes FROM (
         SELECT tenant_id, 'articles' AS table_name, count(*)::int AS rows, sum(octet_length(a.*::text))::int AS bytes FROM articles a GROUP BY tenant_id
         UNION ALL
         SELECT tenant_id, 'users', count(*)::int, sum(octet_length(u.*::text))::int FROM users u GROUP BY tenant_id
       ) AS truth ORDER BY 1, 2`,
    )
    expect(counters.rows.filter((row) => row.rows > 0)).toEqual(recomputed.rows)
    expect(
      recomputed.rows.find((row) => row.tenant_id === alpha.id && row.table_name === 'articles')?.rows,
    ).toBeGreaterThan(6)
  })
})
