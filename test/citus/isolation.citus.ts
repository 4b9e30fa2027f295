import type { FastifyInstance } from 'fastify'
import { Kysely, sql } from 'kysely'
import Cursor from 'pg-cursor'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asTenant, createTenantDatabase, queryAsTenant, type TenantDatabase } from '@rowfence/core'
import { articlesDemo, DEMO_OPERATOR, DEMO_PASSWORD, itemsDemo, signToken } from '@rowfence/demo'
import { TenantPostgresDialect } from '@rowfence/kysely'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { PrismaRowfence } from '@rowfence/prisma'
import { PrismaClient } from '../../packages/prisma/test/generated/client.ts'
import { eq } from 'drizzle-orm'
import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { InjectSession } from '../../apps/demo/test/browser-session.ts'
import { bearer, buildTestApp, TEST_SECRET } from '../../apps/demo/test/support.ts'
import { citus, citusSuite, closeAll, poolFor } from './support/citus-cluster.ts'

const [tenantA, tenantB] = itemsDemo.tenants as unknown as [{ id: string }, { id: string }]
const contextA = { tenantId: tenantA.id }
const contextB = { tenantId: tenantB.id }
const itemOfB = itemsDemo.items.find((item) => item.tenant_id === tenantB.id)!
const itemOfA = itemsDemo.items.find((item) => item.tenant_id === tenantA.id)!
const [alpha, bravo] = articlesDemo as [(typeof articlesDemo)[number], (typeof articlesDemo)[number]]
const alpha0 = alpha.users[0]!
const alpha1 = alpha.users[1]!
const bravo0 = bravo.users[0]!

interface Database {
  items: { tenant_id: string; id: string; title: string }
}

let app: pg.Pool
let superuser: pg.Pool
let db: TenantDatabase

/** Tenant B's items and bravo's articles as the superuser sees them: the "nothing changed" reference. */
async function othersRows(): Promise<unknown[]> {
  const items = await superuser.query('SELECT * FROM items WHERE tenant_id = $1 ORDER BY id', [tenantB.id])
  const articles = await superuser.query('SELECT * FROM articles WHERE tenant_id = $1 ORDER BY id', [
    bravo.id,
  ])
  return [...items.rows, ...articles.rows]
}

/**
 * Runs an attack; it must fail with an RLS/constraint error (an ORM's wrapper carries it as `cause`) or touch
 * no row, and change nothing.
 */
async function expectBlocked(
  attack: () => Promise<{ rowCount: number | null; rows: unknown[] }>,
): Promise<void> {
  const before = await othersRows()
  const outcome = await attack().then(
    (result) => ({ rows: result.rows.length, changed: result.rowCount ?? 0 }),
    (error: { code?: string; cause?: { code?: string } }) => ({ error: error.code ?? error.cause?.code }),
  )
  if ('error' in outcome) expect(['42501', '23503', '0A000']).toContain(outcome.error)
  else expect(outcome).toEqual({ rows: 0, changed: 0 })
  expect(await othersRows()).toEqual(before)
}

beforeAll(() => {
  if (!citus) return
  app = poolFor('app', 10)
  superuser = poolFor('superuser', 2)
  db = createTenantDatabase(app, { contextMode: 'set-local' })
})
afterAll(() => closeAll())

describe.skipIf(!citus)(citusSuite('Citus: the context reaches the workers'), () => {
  it('set_config() does not: a Citus query in the default mode sees no row (why set-local exists)', async () => {
    const result = await queryAsTenant(app, { tenantId: tenantA.id }, 'SELECT count(*)::int AS n FROM items')
    expect(result.rows).toEqual([{ n: 0 }])
  })

  it('a multi-shard query returns only the caller tenant (single statement, one write)', async () => {
    const result = await db.queryAsTenant(
      { tenantId: tenantA.id },
      'SELECT tenant_id, count(*)::int AS n FROM items GROUP BY tenant_id',
    )
    expect(result.rows).toEqual([
      { tenant_id: tenantA.id, n: itemsDemo.items.filter((i) => i.tenant_id === tenantA.id).length },
    ])
  })

  it('a multi-shard query in a transaction fans out to every shard and still sees one tenant', async () => {
    await db.withTenant({ tenantId: tenantB.id }, async (tx) => {
      const plan = await tx.query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT count(*) FROM items')
      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/Task Count: 32/)
      const rows = await tx.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM items')
      expect(rows.rows).toEqual([{ tenant_id: tenantB.id }])
      // A query carrying tenant_id is routed to one shard.
      const routed = await tx.query<{ 'QUERY PLAN': string }>(
        'EXPLAIN SELECT count(*) FROM items WHERE tenant_id = $1',
        [tenantB.id],
      )
      expect(routed.rows.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/Task Count: 1\b/)
    })
  })

  it('no context: nothing', async () => {
    const { rows } = await app.query('SELECT count(*)::int AS n FROM items')
    expect(rows).toEqual([{ n: 0 }])
  })
})

describe.skipIf(!citus)(citusSuite('Citus: tenant A attacks tenant B through the library'), () => {
  const asA = { tenantId: tenantA.id }
  const attacks: [string, string, unknown[]][] = [
    ['read B by id', 'SELECT * FROM items WHERE tenant_id = $1 AND id = $2', [tenantB.id, itemOfB.id]],
    ['read B without tenant_id', 'SELECT * FROM items WHERE id = $1', [itemOfB.id]],
    ['insert into B', 'INSERT INTO items (tenant_id, title) VALUES ($1, $2)', [tenantB.id, 'planted']],
    ['update B', 'UPDATE items SET title = $2 WHERE tenant_id = $1', [tenantB.id, 'pwned']],
    ['update B without tenant_id', 'UPDATE items SET title = $2 WHERE id = $1', [itemOfB.id, 'pwned']],
    ['delete B', 'DELETE FROM items WHERE tenant_id = $1', [tenantB.id]],
    [
      'move an own row to B',
      'UPDATE items SET tenant_id = $1 WHERE tenant_id = $2 AND id = $3',
      [tenantB.id, tenantA.id, itemOfA.id],
    ],
  ]
  it.each(attacks)('%s (queryAsTenant)', async (_label, text, values) => {
    await expectBlocked(() => db.queryAsTenant(asA, text, values))
  })
  it.each(attacks)('%s (withTenant)', async (_label, text, values) => {
    await expectBlocked(() => db.withTenant(asA, (tx) => tx.query(text, values)))
  })
  it("reference B's user from an article of A (composite foreign key)", async () => {
    await expectBlocked(() =>
      db.queryAsTenant(
        { tenantId: alpha.id, userId: alpha0.id },
        'INSERT INTO articles (tenant_id, user_id, title) VALUES ($1, $2, $3)',
        [alpha.id, bravo0.id, 'dangling'],
      ),
    )
  })
})

describe.skipIf(!citus)(citusSuite('Citus: only the author writes an article'), () => {
  const article = alpha0.articles[0]!.id
  const asColleague = { tenantId: alpha.id, userId: alpha1.id }
  it.each([
    [
      'update',
      'UPDATE articles SET title = $3 WHERE tenant_id = $1 AND id = $2',
      [alpha.id, article, 'mine now'],
    ],
    ['delete', 'DELETE FROM articles WHERE tenant_id = $1 AND id = $2', [alpha.id, article]],
  ])("a colleague cannot %s the author's article", async (_label, text, values) => {
    const before = await superuser.query('SELECT * FROM articles WHERE id = $1', [article])
    const result = await db.withTenant(asColleague, (tx) => tx.query(text, values))
    expect(result.rowCount).toBe(0)
    expect((await superuser.query('SELECT * FROM articles WHERE id = $1', [article])).rows).toEqual(
      before.rows,
    )
  })
  it("a colleague cannot write an article in the author's name", async () => {
    await expect(
      db.queryAsTenant(asColleague, 'INSERT INTO articles (tenant_id, user_id, title) VALUES ($1, $2, $3)', [
        alpha.id,
        alpha0.id,
        'ghost',
      ]),
    ).rejects.toMatchObject({ code: '42501' })
  })
  it('the author can', async () => {
    const result = await db.withTenant({ tenantId: alpha.id, userId: alpha0.id }, (tx) =>
      tx.query('UPDATE articles SET pages = pages WHERE tenant_id = $1 AND id = $2', [alpha.id, article]),
    )
    expect(result.rowCount).toBe(1)
  })
})

describe.skipIf(!citus)(citusSuite('Citus: through the Kysely adapter'), () => {
  let orm: Kysely<Database>
  let dialect: TenantPostgresDialect
  beforeAll(() => {
    dialect = new TenantPostgresDialect({ pool: app, contextMode: 'set-local', cursor: Cursor })
    orm = new Kysely<Database>({ dialect })
  })

  it('reads only the tenant (asTenant: one statement; withTenant: one transaction)', async () => {
    const single = await asTenant(contextA, () =>
      orm.selectFrom('items').select('tenant_id').distinct().execute(),
    )
    expect(single).toEqual([{ tenant_id: tenantA.id }])
    const inTx = await dialect.tenantPool.withTenant(contextB, () =>
      orm.selectFrom('items').select('tenant_id').distinct().execute(),
    )
    expect(inTx).toEqual([{ tenant_id: tenantB.id }])
  })

  it('streams through a cursor in the tenant context (the submittable path)', async () => {
    const seen = await asTenant(contextA, async () => {
      const tenants = new Set<string>()
      for await (const row of orm.selectFrom('items').select('tenant_id').stream(2))
        tenants.add(row.tenant_id)
      return [...tenants]
    })
    expect(seen).toEqual([tenantA.id])
  })

  it('cannot update, delete or insert into another tenant; an ORM transaction is a tenant transaction', async () => {
    await expectBlocked(async () => {
      const updated = await asTenant(contextA, () =>
        orm
          .updateTable('items')
          .set({ title: 'pwned' })
          .where('tenant_id', '=', tenantB.id)
          .executeTakeFirst(),
      )
      return { rowCount: Number(updated.numUpdatedRows), rows: [] }
    })
    await expectBlocked(async () => {
      const deleted = await asTenant(contextA, () =>
        orm
          .transaction()
          .execute((trx) => trx.deleteFrom('items').where('id', '=', itemOfB.id).executeTakeFirst()),
      )
      return { rowCount: Number(deleted.numDeletedRows), rows: [] }
    })
    await expectBlocked(async () => {
      await asTenant(contextA, () =>
        orm
          .insertInto('items')
          .values({ tenant_id: tenantB.id, id: sql`gen_random_uuid()`, title: 'x' } as never)
          .execute(),
      )
      return { rowCount: 0, rows: [] }
    })
  })
})

describe.skipIf(!citus)(citusSuite('Citus: through the Drizzle adapter'), () => {
  const items = pgTable('items', {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    title: text('title').notNull(),
  })
  let orm: ReturnType<typeof createTenantDrizzle>
  beforeAll(() => {
    orm = createTenantDrizzle(app, { contextMode: 'set-local' })
  })

  it('reads only the tenant, even by the other tenant id', async () => {
    const seen = await orm.withTenant(contextA, async () => ({
      all: await orm.select({ tenantId: items.tenantId }).from(items),
      byB: await orm.select().from(items).where(eq(items.tenantId, tenantB.id)),
    }))
    expect(new Set(seen.all.map((row) => row.tenantId))).toEqual(new Set([tenantA.id]))
    expect(seen.byB).toEqual([])
  })

  it("cannot change or plant tenant B's rows (single statements and an ORM transaction)", async () => {
    await expectBlocked(async () => {
      const result = await asTenant(contextA, () =>
        orm.update(items).set({ title: 'pwned' }).where(eq(items.tenantId, tenantB.id)),
      )
      return { rowCount: result.rowCount, rows: [] }
    })
    await expectBlocked(async () => {
      const result = await asTenant(contextA, () =>
        orm.transaction((trx) => trx.delete(items).where(eq(items.id, itemOfB.id))),
      )
      return { rowCount: result.rowCount, rows: [] }
    })
    await expectBlocked(async () => {
      await asTenant(contextA, () => orm.insert(items).values({ tenantId: tenantB.id, title: 'planted' }))
      return { rowCount: 0, rows: [] }
    })
  })
})

describe.skipIf(!citus)(citusSuite('Citus: through the Prisma adapter'), () => {
  let prisma: PrismaClient
  let adapter: PrismaRowfence
  beforeAll(() => {
    adapter = new PrismaRowfence(app, { contextMode: 'set-local' })
    prisma = new PrismaClient({ adapter })
  })
  afterAll(() => prisma?.$disconnect())

  it('reads only the tenant; updates and deletes of B touch nothing', async () => {
    const seen = await adapter.tenantPool.withTenant(contextA, async () => ({
      all: await prisma.item.findMany(),
      byB: await prisma.item.findMany({ where: { tenantId: tenantB.id } }),
    }))
    expect(new Set(seen.all.map((row) => row.tenantId))).toEqual(new Set([tenantA.id]))
    expect(seen.byB).toEqual([])
    await expectBlocked(async () => {
      const result = await asTenant(contextA, () =>
        prisma.item.updateMany({ where: { tenantId: tenantB.id }, data: { title: 'pwned' } }),
      )
      return { rowCount: result.count, rows: [] }
    })
    await expectBlocked(async () => {
      const result = await asTenant(contextA, () =>
        prisma.$transaction((trx) => trx.item.deleteMany({ where: { id: itemOfB.id } })),
      )
      return { rowCount: result.count, rows: [] }
    })
  })
})

describe.skipIf(!citus)(
  citusSuite('Citus: the admin role reads across tenants and writes only audit rows'),
  () => {
    let admin: pg.Pool
    beforeAll(() => {
      admin = poolFor('admin', 2)
    })
    it('reads every tenant through its own policies, on every shard', async () => {
      const { rows } = await admin.query(
        'SELECT count(DISTINCT tenant_id)::int AS tenants, count(*)::int AS n FROM articles',
      )
      expect(rows).toEqual([{ tenants: 3, n: 18 }])
    })
    it.each([
      ['UPDATE articles SET title = $1', ['x']],
      ['DELETE FROM articles WHERE title = $1', ['x']],
      ['INSERT INTO articles (tenant_id, user_id, title) VALUES ($1, $2, $3)', [alpha.id, alpha0.id, 'x']],
      ['SELECT * FROM items WHERE title = $1', ['x']],
    ])('is refused: %s', async (text, values) => {
      await expect(admin.query(text, values)).rejects.toMatchObject({ code: '42501' })
    })
    it('audit rows are append-only', async () => {
      const { rows } = await admin.query<{ id: string }>('SELECT id FROM platform_operators LIMIT 1')
      await admin.query(
        'INSERT INTO admin_audit (operator_id, method, path, route) VALUES ($1, $2, $3, $4)',
        [rows[0]!.id, 'GET', '/admin', '/admin'],
      )
      await expect(admin.query("UPDATE admin_audit SET path = '/x'")).rejects.toMatchObject({ code: '42501' })
      await expect(admin.query('DELETE FROM admin_audit')).rejects.toMatchObject({ code: '42501' })
    })
  },
)

describe.skipIf(!citus)(citusSuite('Citus: the admin pages over HTTP, audited'), () => {
  it('an operator reads across tenants and every request leaves its audit row', async () => {
    const server = await buildTestApp(app, {
      authPool: poolFor('auth', 2),
      adminPool: poolFor('admin', 3),
      contextMode: 'set-local',
    })
    try {
      const count = async () =>
        (await superuser.query<{ n: number }>('SELECT count(*)::int AS n FROM admin_audit')).rows[0]!.n
      const session = new InjectSession(server, '127.0.0.1')
      const form = await session.get('/admin/login')
      const login = await session.post('/admin/login', {
        _csrf: InjectSession.csrfOf(form),
        name: DEMO_OPERATOR.name,
        password: DEMO_OPERATOR.password,
      })
      expect(login.statusCode).toBe(303)
      const before = await count()
      const page = await session.get('/admin')
      expect(page.statusCode).toBe(200)
      for (const tenant of articlesDemo) expect(page.body).toContain(tenant.name)
      expect(await count()).toBe(before + 1)
    } finally {
      await server.close()
    }
  })
})

describe.skipIf(!citus)(citusSuite('Citus: storage accounting computed on demand'), () => {
  it('a tenant sees its own rows and bytes per table, computed from the distributed tables', async () => {
    const { rows } = await db.withTenant({ tenantId: alpha.id }, (tx) =>
      tx.query(
        'SELECT tenant_id, table_name, row_count::int AS rows, bytes::int > 0 AS bytes FROM tenant_storage ORDER BY table_name',
      ),
    )
    expect(rows).toEqual([
      { tenant_id: alpha.id, table_name: 'articles', rows: 6, bytes: true },
      { tenant_id: alpha.id, table_name: 'users', rows: 3, bytes: true },
    ])
  })
})

describe.skipIf(!citus)(citusSuite('Citus: the demo over HTTP'), () => {
  let server: FastifyInstance
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    server = await buildTestApp(app, { authPool: poolFor('auth', 2), contextMode: 'set-local' })
    for (const [key, tenant, user] of [
      ['alpha0', 'alpha', 'alpha-0'],
      ['bravo0', 'bravo', 'bravo-0'],
    ] as const) {
      const response = await server.inject({
        method: 'POST',
        url: '/api/tokens',
        payload: { tenant, user, password: DEMO_PASSWORD },
      })
      expect(response.statusCode).toBe(200)
      tokens[key] = response.json().token
    }
  })
  afterAll(() => server?.close())

  it("lists the tenant's articles and storage only", async () => {
    const articles = await server.inject({ url: '/api/articles', headers: bearer(tokens['alpha0']!) })
    expect(articles.statusCode).toBe(200)
    expect(articles.json().map((article: { title: string }) => article.title)).toEqual(
      alpha.users.flatMap((user) => user.articles.map((a) => a.title)).sort(),
    )
    const storage = await server.inject({ url: '/api/storage', headers: bearer(tokens['alpha0']!) })
    expect(storage.statusCode).toBe(200)
    expect(storage.json().total.rows).toBe(9)
  })

  it.each([
    ["read another tenant's article", 'GET', `/api/articles/${bravo0.articles[0]!.id}`, undefined, 404],
    [
      "update another tenant's article",
      'PATCH',
      `/api/articles/${bravo0.articles[0]!.id}`,
      { title: 'pwned' },
      404,
    ],
    ["delete another tenant's article", 'DELETE', `/api/articles/${bravo0.articles[0]!.id}`, undefined, 404],
    [
      "create an article for another tenant's user",
      'POST',
      '/api/articles',
      { title: 'x', user_id: bravo0.id },
      403,
    ],
    [
      "update a colleague's article",
      'PATCH',
      `/api/articles/${alpha1.articles[0]!.id}`,
      { title: 'mine' },
      403,
    ],
    ["delete a colleague's article", 'DELETE', `/api/articles/${alpha1.articles[0]!.id}`, undefined, 403],
  ] as const)('%s: %s %s is refused, nothing changes', async (_label, method, url, payload, status) => {
    const everything = async () =>
      (await superuser.query('SELECT * FROM articles ORDER BY tenant_id, id')).rows
    const before = await everything()
    const response = await server.inject({
      method,
      url,
      headers: bearer(tokens['alpha0']!),
      ...(payload ? { payload } : {}),
    })
    expect(response.statusCode).toBe(status)
    expect(await everything()).toEqual(before)
  })

  it('GET /items/ returns the token tenant only', async () => {
    const token = await signToken({
      secret: TEST_SECRET,
      tenantId: tenantA.id,
      subject: 'test',
      expiresIn: '5m',
    })
    const response = await server.inject({ url: '/items/', headers: bearer(token) })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    const items = (Array.isArray(body) ? body : body.items) as { tenant_id?: string; id: string }[]
    expect(items.length).toBe(itemsDemo.items.filter((item) => item.tenant_id === tenantA.id).length)
    expect(
      items.every((item) => itemsDemo.items.find((known) => known.id === item.id)?.tenant_id === tenantA.id),
    ).toBe(true)
  })
})
