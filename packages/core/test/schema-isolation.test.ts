import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quoteIdentifier as q, withTenant, type TenantContext } from '@rowfence/core'
import { migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/**
 * The generated SQL applied to a real, empty PostgreSQL, then attacked as the app role: tenant A tries
 * to read, insert into, update, delete, re-parent into and reference tenant B's rows, for every policy
 * variant; within A, a colleague tries to change rows only their author may change.
 */

const orgs = tenantsTable('orgs', { columns: { id: uuid().primaryKey(), name: text().notNull().unique() } })
const members = tenantTable('members', {
  columns: { id: uuid().primaryKey(), name: text().notNull().unique() },
})
/** Whole tenant reads and writes. */
const tasks = tenantTable('tasks', {
  columns: { id: uuid().primaryKey(), member_id: uuid(), body: text().notNull() },
  references: [{ columns: ['member_id'], table: members }],
})
/** Whole tenant reads, only the author writes. */
const posts = tenantTable('posts', {
  columns: { id: uuid().primaryKey(), author_id: uuid().notNull(), body: text().notNull() },
  references: [{ columns: ['author_id'], table: members }],
  policies: { read: 'tenant', write: { ownerColumn: 'author_id' } },
})
/** Only the owner reads and writes. */
const drafts = tenantTable('drafts', {
  columns: { id: uuid().primaryKey(), owner_id: uuid().notNull(), body: text().notNull() },
  references: [{ columns: ['owner_id'], table: members }],
  policies: { read: { ownerColumn: 'owner_id' }, write: { ownerColumn: 'owner_id' } },
})
/** Read-only for the app. */
const notices = tenantTable('notices', {
  columns: { id: uuid().primaryKey(), member_id: uuid(), body: text().notNull() },
  references: [{ columns: ['member_id'], table: members }],
  policies: { write: 'none' },
})
const schema = rowfenceSchema({
  tables: [orgs, members, tasks, posts, drafts, notices],
  appRole: 'rowfence_app',
  // The plain context: these policies' semantics do not depend on it (the signed one: signed-context.test.ts).
  context: { signed: false },
})

const A = randomUUID()
const B = randomUUID()
const [a1, a2, b1] = [randomUUID(), randomUUID(), randomUUID()]
const asA1: TenantContext = { tenantId: A, userId: a1 }
const asA2: TenantContext = { tenantId: A, userId: a2 }

interface Variant {
  readonly table: string
  readonly parent: string
  readonly write: 'tenant' | 'owner' | 'none'
  /** Rows by id: A's row written by a1, A's row written by a2, B's row written by b1. */
  readonly rows: { readonly a1: string; readonly a2: string; readonly b1: string }
}
const variants: Variant[] = [
  { table: 'tasks', parent: 'member_id', write: 'tenant', rows: ids() },
  { table: 'posts', parent: 'author_id', write: 'owner', rows: ids() },
  { table: 'drafts', parent: 'owner_id', write: 'owner', rows: ids() },
  { table: 'notices', parent: 'member_id', write: 'none', rows: ids() },
]
function ids() {
  return { a1: randomUUID(), a2: randomUUID(), b1: randomUUID() }
}

const rlsViolation = { code: '42501', message: expect.stringMatching(/violates row-level security policy/) }
const permissionDenied = { code: '42501', message: expect.stringMatching(/^permission denied for table/) }
const foreignKeyViolation = { code: '23503' }

let db: TestDatabase
let owner: pg.Pool
let app: pg.Pool

const run = (pool: pg.Pool, context: TenantContext, sql: string, values: unknown[] = []) =>
  withTenant(pool, context, (tx) => tx.query(sql, values))

/** Everything tenant B has, read as the owner acting as B: must be identical after all attacks. */
async function tenantBData(): Promise<unknown> {
  return withTenant(owner, { tenantId: B, userId: b1 }, async (tx) => {
    const out: Record<string, unknown> = {}
    for (const table of ['orgs', 'members', 'tasks', 'posts', 'drafts', 'notices']) {
      out[table] = (await tx.query(`SELECT * FROM ${q(table)} ORDER BY id`)).rows
    }
    return out
  })
}

let bBefore: unknown

beforeAll(async () => {
  db = await createTestDatabase({ empty: true })
  owner = db.pool('owner')
  app = db.pool('app')
  await migrate(owner, { migrations: [migrationFrom('0001_isolation', renderSchema(schema))] })
  // Seeding goes through the tenant context: RLS is forced, so the owner is filtered too.
  const seed = async (tenant: string, user: string, sql: string, values: unknown[]) =>
    run(owner, { tenantId: tenant, userId: user }, sql, values)
  for (const [tenant, name] of [
    [A, 'alpha'],
    [B, 'bravo'],
  ] as const) {
    await seed(tenant, tenant, 'INSERT INTO orgs (id, name) VALUES ($1, $2)', [tenant, name])
  }
  for (const [tenant, user, name] of [
    [A, a1, 'alice'],
    [A, a2, 'adam'],
    [B, b1, 'bob'],
  ] as const) {
    await seed(tenant, user, 'INSERT INTO members (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenant,
      user,
      name,
    ])
  }
  for (const variant of variants) {
    for (const [tenant, user, id] of [
      [A, a1, variant.rows.a1],
      [A, a2, variant.rows.a2],
      [B, b1, variant.rows.b1],
    ] as const) {
      await seed(
        tenant,
        user,
        `INSERT INTO ${q(variant.table)} (tenant_id, id, ${q(variant.parent)}, body) VALUES ($1, $2, $3, 'original')`,
        [tenant, id, user],
      )
    }
  }
  bBefore = await tenantBData()
})

afterAll(async () => db.drop())

describe.each(variants)('$table (write: $write): tenant A attacks tenant B', (variant) => {
  const table = q(variant.table)
  const parent = q(variant.parent)
  const writeError = variant.write === 'none' ? permissionDenied : rlsViolation

  it("reads none of B's rows, by id or by tenant_id", async () => {
    const { rows } = await run(app, asA1, `SELECT id FROM ${table} WHERE id = $1 OR tenant_id = $2`, [
      variant.rows.b1,
      B,
    ])
    expect(rows).toEqual([])
  })

  it('cannot insert a row into B', async () => {
    await expect(
      run(app, asA1, `INSERT INTO ${table} (tenant_id, id, ${parent}, body) VALUES ($1, $2, $3, 'planted')`, [
        B,
        randomUUID(),
        b1,
      ]),
    ).rejects.toMatchObject(writeError)
    // The planted-row attack: tenant_id of B, pointing at one of A's own members.
    await expect(
      run(app, asA1, `INSERT INTO ${table} (tenant_id, id, ${parent}, body) VALUES ($1, $2, $3, 'planted')`, [
        B,
        randomUUID(),
        a1,
      ]),
    ).rejects.toMatchObject(writeError)
  })

  it("cannot update or delete B's row", async () => {
    if (variant.write === 'none') {
      await expect(
        run(app, asA1, `UPDATE ${table} SET body = 'hacked' WHERE id = $1`, [variant.rows.b1]),
      ).rejects.toMatchObject(permissionDenied)
      await expect(
        run(app, asA1, `DELETE FROM ${table} WHERE id = $1`, [variant.rows.b1]),
      ).rejects.toMatchObject(permissionDenied)
      return
    }
    const updated = await run(app, asA1, `UPDATE ${table} SET body = 'hacked' WHERE id = $1`, [
      variant.rows.b1,
    ])
    const deleted = await run(app, asA1, `DELETE FROM ${table} WHERE tenant_id = $1`, [B])
    expect([updated.rowCount, deleted.rowCount]).toEqual([0, 0])
  })

  it('cannot re-parent its own row to B, with or without B’s parent', async () => {
    await expect(
      run(app, asA1, `UPDATE ${table} SET tenant_id = $1 WHERE id = $2`, [B, variant.rows.a1]),
    ).rejects.toMatchObject(writeError)
    await expect(
      run(app, asA1, `UPDATE ${table} SET tenant_id = $1, ${parent} = $2 WHERE id = $3`, [
        B,
        b1,
        variant.rows.a1,
      ]),
    ).rejects.toMatchObject(writeError)
  })

  it("cannot reference B's parent row from A (the composite foreign key stops it)", async () => {
    // Even with a forged user id that satisfies an owner policy, (A, b1) is not a member of A.
    const forged: TenantContext = { tenantId: A, userId: b1 }
    const insert = `INSERT INTO ${table} (tenant_id, id, ${parent}, body) VALUES ($1, $2, $3, 'dangling')`
    if (variant.write === 'none') {
      await expect(run(app, forged, insert, [A, randomUUID(), b1])).rejects.toMatchObject(permissionDenied)
      // The migrating role may write here (maintenance), and the foreign key still holds for it.
      await expect(run(owner, forged, insert, [A, randomUUID(), b1])).rejects.toMatchObject(
        foreignKeyViolation,
      )
      return
    }
    await expect(run(app, forged, insert, [A, randomUUID(), b1])).rejects.toMatchObject(foreignKeyViolation)
    if (variant.write === 'tenant') {
      await expect(
        run(app, asA1, `UPDATE ${table} SET ${parent} = $1 WHERE id = $2`, [b1, variant.rows.a1]),
      ).rejects.toMatchObject(foreignKeyViolation)
    }
  })

  it('sees and writes nothing without a tenant context, and neither does the owner (FORCE)', async () => {
    for (const pool of [app, owner]) {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`)
      expect(rows).toEqual([{ n: 0 }])
    }
    await expect(
      app.query(`INSERT INTO ${table} (tenant_id, id, ${parent}, body) VALUES ($1, $2, $3, 'x')`, [
        A,
        randomUUID(),
        a1,
      ]),
    ).rejects.toMatchObject({ code: '42501' })
  })

  it('reads the context once per query (an InitPlan), not once per row', async () => {
    const plan = await run(app, asA1, `EXPLAIN (COSTS OFF) SELECT * FROM ${table}`)
    expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/InitPlan/)
  })
})

describe('within a tenant', () => {
  const [tasksRows, postsRows, draftsRows, noticesRows] = variants.map((variant) => variant.rows) as [
    Variant['rows'],
    Variant['rows'],
    Variant['rows'],
    Variant['rows'],
  ]
  /** Read back as the owner role acting as a1 (drafts are visible to their owner only, whoever queries). */
  const bodies = async (table: string, ids: string[]) =>
    (await run(owner, asA1, `SELECT id, body FROM ${q(table)} WHERE id = ANY($1) ORDER BY id`, [ids])).rows

  it('whole tenant: a colleague may update and delete my task', async () => {
    const extra = randomUUID()
    await run(app, asA1, `INSERT INTO tasks (tenant_id, id, member_id, body) VALUES ($1, $2, $3, 'mine')`, [
      A,
      extra,
      a1,
    ])
    expect(
      (await run(app, asA2, `UPDATE tasks SET body = 'edited by a2' WHERE id = $1`, [tasksRows.a1])).rowCount,
    ).toBe(1)
    expect((await run(app, asA2, `DELETE FROM tasks WHERE id = $1`, [extra])).rowCount).toBe(1)
  })

  it('author writes: a colleague may read my post but not update or delete it', async () => {
    const read = await run(app, asA2, 'SELECT id FROM posts WHERE id = $1', [postsRows.a1])
    expect(read.rows).toEqual([{ id: postsRows.a1 }])
    const updated = await run(app, asA2, `UPDATE posts SET body = 'hacked' WHERE id = $1`, [postsRows.a1])
    const deleted = await run(app, asA2, 'DELETE FROM posts WHERE id = $1', [postsRows.a1])
    expect([updated.rowCount, deleted.rowCount]).toEqual([0, 0])
    expect(await bodies('posts', [postsRows.a1])).toEqual([{ id: postsRows.a1, body: 'original' }])
  })

  it('author writes: nobody writes in someone else’s name or gives a post away', async () => {
    await expect(
      run(app, asA2, `INSERT INTO posts (tenant_id, id, author_id, body) VALUES ($1, $2, $3, 'as a1')`, [
        A,
        randomUUID(),
        a1,
      ]),
    ).rejects.toMatchObject(rlsViolation)
    await expect(
      run(app, asA1, 'UPDATE posts SET author_id = $1 WHERE id = $2', [a2, postsRows.a1]),
    ).rejects.toMatchObject(rlsViolation)
  })

  it('author writes: the author updates and deletes their own post; no user context writes nothing', async () => {
    expect(
      (await run(app, asA1, `UPDATE posts SET body = 'edited' WHERE id = $1`, [postsRows.a1])).rowCount,
    ).toBe(1)
    const own = randomUUID()
    await run(app, asA1, `INSERT INTO posts (tenant_id, id, author_id, body) VALUES ($1, $2, $3, 'new')`, [
      A,
      own,
      a1,
    ])
    const anonymous: TenantContext = { tenantId: A }
    expect((await run(app, anonymous, 'SELECT id FROM posts WHERE id = $1', [own])).rows).toHaveLength(1)
    expect((await run(app, anonymous, `UPDATE posts SET body = 'x' WHERE id = $1`, [own])).rowCount).toBe(0)
    await expect(
      run(app, anonymous, `INSERT INTO posts (tenant_id, id, author_id, body) VALUES ($1, $2, $3, 'x')`, [
        A,
        randomUUID(),
        a1,
      ]),
    ).rejects.toMatchObject(rlsViolation)
    expect((await run(app, asA1, 'DELETE FROM posts WHERE id = $1', [own])).rowCount).toBe(1)
  })

  it('owner reads: a colleague cannot even see my draft', async () => {
    const mine = await run(app, asA1, 'SELECT id FROM drafts ORDER BY id')
    expect(mine.rows).toEqual([{ id: draftsRows.a1 }])
    const updated = await run(app, asA2, `UPDATE drafts SET body = 'hacked' WHERE id = $1`, [draftsRows.a1])
    const deleted = await run(app, asA2, 'DELETE FROM drafts WHERE id = $1', [draftsRows.a1])
    expect([updated.rowCount, deleted.rowCount]).toEqual([0, 0])
    expect(await bodies('drafts', [draftsRows.a1])).toEqual([{ id: draftsRows.a1, body: 'original' }])
  })

  it('read-only: the app reads the tenant’s notices; the migrating role writes only inside the tenant', async () => {
    const { rows } = await run(app, asA1, 'SELECT id FROM notices ORDER BY id')
    expect(rows.map((row) => row.id).sort()).toEqual([noticesRows.a1, noticesRows.a2].sort())
    await expect(
      run(app, asA1, `UPDATE notices SET body = 'x' WHERE id = $1`, [noticesRows.a1]),
    ).rejects.toMatchObject(permissionDenied)
    const maintained = await run(
      owner,
      asA1,
      `UPDATE notices SET body = 'maintained' WHERE tenant_id = ANY($1)`,
      [[A, B]],
    )
    expect(maintained.rowCount).toBe(2)
    await expect(
      run(owner, asA1, `INSERT INTO notices (tenant_id, id, body) VALUES ($1, $2, 'planted')`, [
        B,
        randomUUID(),
      ]),
    ).rejects.toMatchObject(rlsViolation)
  })

  it('the tenants table: a tenant sees only its own row and cannot change it', async () => {
    expect((await run(app, asA1, 'SELECT id FROM orgs')).rows).toEqual([{ id: A }])
    await expect(run(app, asA1, `UPDATE orgs SET name = 'mine' WHERE id = $1`, [A])).rejects.toMatchObject(
      permissionDenied,
    )
    await expect(
      run(owner, asA1, `INSERT INTO orgs (id, name) VALUES ($1, 'charlie')`, [randomUUID()]),
    ).rejects.toMatchObject(rlsViolation)
  })

  it('unique keys are per tenant: no cross-tenant existence oracle', async () => {
    // "bob" exists in B; A can still have a "bob", and only a duplicate inside A conflicts.
    await run(app, asA1, `INSERT INTO members (tenant_id, id, name) VALUES ($1, $2, 'bob')`, [
      A,
      randomUUID(),
    ])
    await expect(
      run(app, asA1, `INSERT INTO members (tenant_id, id, name) VALUES ($1, $2, 'bob')`, [A, randomUUID()]),
    ).rejects.toMatchObject({ code: '23505' })
  })
})

describe('the RESTRICTIVE tenant floor', () => {
  it('holds even when a careless permissive policy is added later', async () => {
    await owner.query(
      'CREATE POLICY careless ON tasks AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)',
    )
    try {
      expect((await run(app, asA1, 'SELECT id FROM tasks WHERE tenant_id = $1', [B])).rows).toEqual([])
      await expect(
        run(app, asA1, `INSERT INTO tasks (tenant_id, id, body) VALUES ($1, $2, 'planted')`, [
          B,
          randomUUID(),
        ]),
      ).rejects.toMatchObject(rlsViolation)
      expect(
        (await run(app, asA1, `UPDATE tasks SET body = 'hacked' WHERE tenant_id = $1`, [B])).rowCount,
      ).toBe(0)
    } finally {
      await owner.query('DROP POLICY careless ON tasks')
    }
  })
})

describe('afterwards', () => {
  it("tenant B's data is exactly as before every attack", async () => {
    const before = bBefore as Record<string, { body?: string }[]>
    // The snapshot is not empty: one org, one member and one row per variant table.
    expect(Object.values(before).map((rows) => rows.length)).toEqual([1, 1, 1, 1, 1, 1])
    expect(await tenantBData()).toEqual(before)
  })
})
