import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  defineContextConfig,
  queryAsTenant,
  withTenant,
  type TenantContext,
  type TenantContextConfig,
} from '@rowfence/core'
import { migrate, migrationFrom } from '@rowfence/core/migrate'
import {
  bigint,
  diffSchemas,
  renderSchema,
  rowfenceSchema,
  tenantsTable,
  tenantTable,
  text,
  uuid,
} from '@rowfence/core/schema'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/**
 * Schemas whose tenants have text ids (Clerk-style `org_...`) and whose users have bigint ids, on real
 * PostgreSQL: the generated context functions return those types and read the configured settings,
 * tenant_id defaults to the current tenant, and tenant A still cannot touch tenant B's rows.
 */

// The plain context (these tests set the custom settings directly); signed ones: signed-context.test.ts.
const contextConfig: TenantContextConfig = defineContextConfig({
  signed: false,
  tenantIdType: 'text',
  userIdType: 'bigint',
  tenantSetting: 'app.org_id',
  userSetting: 'app.user_id',
})

const orgs = tenantsTable('orgs', { columns: { id: text().primaryKey(), name: text().notNull() } })
const notes = tenantTable('notes', {
  columns: { id: uuid().primaryKey().defaultRandom(), author_id: bigint().notNull(), body: text().notNull() },
  policies: { read: 'tenant', write: { ownerColumn: 'author_id' } },
})
const schema = rowfenceSchema({
  tables: [orgs, notes],
  appRole: 'rowfence_app',
  context: contextConfig,
  signUp: { tenantColumns: ['name'] },
})

const A = 'org_2abcALPHA'
const B = "org_2xyzBRAVO'; --"
const asA: TenantContext = { tenantId: A, userId: 41 }
const asA2: TenantContext = { tenantId: A, userId: '42' }
const asB: TenantContext = { tenantId: B, userId: 7n }

let db: TestDatabase
let owner: pg.Pool
let app: pg.Pool
const options = { contextConfig }

beforeAll(async () => {
  db = await createTestDatabase({ empty: true })
  owner = db.pool('owner')
  app = db.pool('app')
  await migrate(owner, { migrations: [migrationFrom('0001_ids', renderSchema(schema))] })
  for (const [context, name] of [
    [asA, 'alpha'],
    [asB, 'bravo'],
  ] as const) {
    await withTenant(
      owner,
      context,
      async (tx) => {
        await tx.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [context.tenantId, name])
        // No tenant_id: the column's default is the current tenant.
        await tx.query('INSERT INTO notes (author_id, body) VALUES ($1, $2)', [
          context.userId,
          `${name} note`,
        ])
      },
      options,
    )
  }
})

afterAll(async () => db?.drop())

describe('generated schema with text tenant ids and bigint user ids', () => {
  it('renders typed context functions over the configured settings and a tenant_id default', () => {
    const sql = renderSchema(schema)
    expect(sql).toContain(`"rowfence"."current_tenant_id"() RETURNS text`)
    expect(sql).toContain(`current_setting('app.org_id', true), '')::text`)
    expect(sql).toContain(`"rowfence"."current_user_id"() RETURNS bigint`)
    expect(sql).toContain(`current_setting('app.user_id', true), '')::bigint`)
    expect(sql).toContain(`"tenant_id" text NOT NULL DEFAULT "rowfence"."current_tenant_id"()`)
  })

  it('inserts without tenant_id land in the current tenant', async () => {
    const { rows } = await withTenant(
      app,
      asA,
      async (tx) => {
        await tx.query(`INSERT INTO notes (author_id, body) VALUES (41, 'second')`)
        return tx.query<{ tenant_id: string; author_id: string }>(
          'SELECT tenant_id, author_id FROM notes ORDER BY body',
        )
      },
      options,
    )
    expect(rows).toEqual([
      { tenant_id: A, author_id: '41' },
      { tenant_id: A, author_id: '41' },
    ])
  })

  it('without a context the default is NULL: the insert is refused (RLS checks before NOT NULL), nothing written', async () => {
    await expect(app.query(`INSERT INTO notes (author_id, body) VALUES (1, 'orphan')`)).rejects.toMatchObject(
      {
        code: '42501',
        message: expect.stringMatching(/violates row-level security policy for table "notes"/),
      },
    )
    // As the superuser, which RLS does not filter (the owner would see nothing without a context).
    const all = await db
      .pool('admin')
      .query<{ count: string }>(
        `SELECT count(*) FILTER (WHERE body = 'orphan') AS count, count(*) AS total FROM notes`,
      )
    expect(all.rows[0]).toMatchObject({ count: '0', total: expect.not.stringMatching(/^0$/) })
  })

  it("tenant A reads, inserts into, updates and deletes none of B's rows", async () => {
    const seen = await queryAsTenant(app, asA, 'SELECT tenant_id FROM notes', [], options)
    expect(new Set(seen.rows.map((row) => row.tenant_id))).toEqual(new Set([A]))
    await expect(
      withTenant(
        app,
        asA,
        (tx) => tx.query(`INSERT INTO notes (tenant_id, author_id, body) VALUES ($1, 41, 'x')`, [B]),
        options,
      ),
    ).rejects.toMatchObject({ code: '42501' })
    const changed = await withTenant(
      app,
      asA,
      async (tx) =>
        (await tx.query(`UPDATE notes SET body = 'owned' WHERE tenant_id = $1`, [B])).rowCount! +
        (await tx.query(`DELETE FROM notes WHERE tenant_id = $1`, [B])).rowCount!,
      options,
    )
    expect(changed).toBe(0)
    const bRows = await queryAsTenant(owner, asB, 'SELECT body FROM notes', [], options)
    expect(bRows.rows).toEqual([{ body: 'bravo note' }])
  })

  it('the bigint owner column is compared with the bigint user id: a colleague cannot edit', async () => {
    const edited = await withTenant(
      app,
      asA2,
      async (tx) => (await tx.query(`UPDATE notes SET body = 'hijacked'`)).rowCount,
      options,
    )
    expect(edited).toBe(0)
  })

  it('refuses ids that are not of the configured type before anything is sent', async () => {
    await expect(
      withTenant(app, { tenantId: A, userId: 'not-a-number' }, async () => 1, options),
    ).rejects.toMatchObject({ code: 'ROWFENCE_INVALID_USER' })
    await expect(withTenant(app, { tenantId: '' }, async () => 1, options)).rejects.toMatchObject({
      code: 'ROWFENCE_INVALID_TENANT',
    })
  })
})

describe('sign-up with caller-chosen text ids', () => {
  it('creates a new org; an existing org id is refused by its primary key and nothing changes', async () => {
    const { rows } = await app.query('SELECT * FROM rowfence.sign_up($1, $2)', ['org_new', 'newco'])
    expect(rows).toEqual([{ new_tenant_id: 'org_new' }])
    await expect(app.query('SELECT * FROM rowfence.sign_up($1, $2)', [B, 'takeover'])).rejects.toMatchObject({
      code: '23505',
    })
    const bRows = await queryAsTenant(owner, asB, 'SELECT name FROM orgs', [], options)
    expect(bRows.rows).toEqual([{ name: 'bravo' }])
  })
})

describe('the schema definition checks id types', () => {
  it('the tenants table id must be of the tenant id type, owner columns of the user id type', () => {
    expect(() =>
      rowfenceSchema({ tables: [orgs, notes], appRole: 'rowfence_app', context: { tenantIdType: 'uuid' } }),
    ).toThrow(/needs id: uuid\(\)\.primaryKey\(\)/)
    expect(() =>
      rowfenceSchema({
        tables: [orgs, notes],
        appRole: 'rowfence_app',
        context: { tenantIdType: 'text', userIdType: 'uuid' },
      }),
    ).toThrow(/owner column notes\.author_id must be a uuid/)
    expect(() =>
      rowfenceSchema({
        tables: [orgs],
        appRole: 'rowfence_app',
        context: { tenantIdType: 'text', tenantSetting: "x'; DROP TABLE y; --" },
      }),
    ).toThrow(expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }))
  })

  it('signUp is validated: required columns, a tenants table, no owner-only member table', () => {
    const base = { appRole: 'rowfence_app', context: contextConfig }
    expect(() => rowfenceSchema({ ...base, tables: [orgs, notes], signUp: { tenantColumns: [] } })).toThrow(
      /signUp.tenantColumns must include name/,
    )
    expect(() => rowfenceSchema({ ...base, tables: [notes], signUp: { tenantColumns: [] } })).toThrow(
      /signUp needs a tenants table/,
    )
    expect(() =>
      rowfenceSchema({
        ...base,
        tables: [orgs, notes],
        signUp: { tenantColumns: ['name'], member: { table: notes, columns: ['author_id', 'body'] } },
      }),
    ).toThrow(/owner-only writes/)
  })

  it('a changed setting name re-creates the context functions; a changed id type is refused', () => {
    const renamed = rowfenceSchema({
      tables: [orgs, notes],
      appRole: 'rowfence_app',
      context: { ...contextConfig, tenantSetting: 'app.organization' },
    })
    const operations = diffSchemas(schema.model, renamed.model)
    expect(operations).toContainEqual({
      kind: 'createContext',
      appRole: 'rowfence_app',
      context: { ...renamed.model.context },
    })
    const uuidOrgs = tenantsTable('orgs', { columns: { id: uuid().primaryKey(), name: text().notNull() } })
    const retyped = rowfenceSchema({
      tables: [uuidOrgs, notes],
      appRole: 'rowfence_app',
      context: { userIdType: 'bigint' },
    })
    expect(() => diffSchemas(schema.model, retyped.model)).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_SCHEMA_CHANGE_UNSUPPORTED' }),
    )
  })
})
