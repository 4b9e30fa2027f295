import { describe, expect, it } from 'vitest'
import {
  bigint,
  boolean,
  compileOperations,
  diffSchemas,
  integer,
  jsonb,
  numeric,
  renderSchema,
  rowfenceSchema,
  tenantsTable,
  tenantTable,
  text,
  timestamptz,
  uuid,
  type Operation,
  type RowfenceSchema,
  type TablePolicies,
  type TenantTable,
} from '@rowfence/core/schema'
import { articles, schema as example, tenants, users } from './schema-example.ts'

/** The SQL of the statements that belong to one table in the initial migration of a schema. */
function tableSql(schema: RowfenceSchema, table: string, kinds?: Operation['kind'][]): string {
  const all = diffSchemas(null, schema.model)
  const tableOf = (op: Operation | undefined): string | undefined =>
    op?.kind === 'createTable' ? op.table.name : op && 'table' in op ? op.table : undefined
  const operations = all.filter((op, i) => {
    // A comment belongs to the table whose CREATE TABLE follows it.
    const name = op.kind === 'comment' ? tableOf(all[i + 1]) : tableOf(op)
    return name === table && (kinds === undefined || kinds.includes(op.kind))
  })
  return compileOperations(operations)
}

const policiesAndGrants = (schema: RowfenceSchema, table: string): string =>
  tableSql(schema, table, ['createPolicy', 'revokeAllFromPublic', 'grant'])

const T = '(SELECT "rowfence"."current_tenant_id"())'
const U = '(SELECT "rowfence"."current_user_id"())'

describe('context functions', () => {
  it('are the signed context by default: a key table only the owner reads, a SECURITY DEFINER verifier', () => {
    expect(example.contextByDefault).toBe(true)
    const [, context] = diffSchemas(null, example.model)
    const sql = compileOperations([context!])
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "rowfence"."context_keys"')
    expect(sql).toContain('REVOKE ALL ON TABLE "rowfence"."context_keys" FROM PUBLIC;')
    expect(sql).toMatch(
      /"rowfence"\."verified_context"\(\) RETURNS jsonb\n {2}LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER\n {2}SET search_path = pg_catalog, pg_temp/,
    )
    expect(sql).toContain(`AS $$ SELECT NULLIF("rowfence"."verified_context"() ->> 't', '')::uuid $$;`)
    expect(sql).not.toContain("current_setting('rowfence.tenant_id'")
  })

  it('with signed: false, are STABLE SQL functions over the plain settings, executable by the app role only', () => {
    const plain = rowfenceSchema({
      tables: [tenants, users, articles],
      appRole: 'rowfence_app',
      context: { signed: false },
    })
    expect(plain.contextByDefault).toBe(false)
    const [, context] = diffSchemas(null, plain.model)
    expect(compileOperations([context!])).toBe(`CREATE SCHEMA IF NOT EXISTS "rowfence";
REVOKE ALL ON SCHEMA "rowfence" FROM PUBLIC;
GRANT USAGE ON SCHEMA "rowfence" TO "rowfence_app";
CREATE OR REPLACE FUNCTION "rowfence"."current_tenant_id"() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION "rowfence"."current_user_id"() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('rowfence.user_id', true), '')::uuid $$;
REVOKE ALL ON FUNCTION "rowfence"."current_tenant_id"(), "rowfence"."current_user_id"() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "rowfence"."current_tenant_id"(), "rowfence"."current_user_id"() TO "rowfence_app";
`)
  })
})

describe('a tenant table', () => {
  it('gets tenant_id, a composite primary key, a tenant foreign key, forced RLS and whole-tenant policies', () => {
    expect(tableSql(example, 'users')).toBe(`-- "users": tenant table
CREATE TABLE "users" (
  "tenant_id" uuid NOT NULL DEFAULT "rowfence"."current_tenant_id"(),
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "name" text NOT NULL,
  CONSTRAINT "users_pkey" PRIMARY KEY ("tenant_id", "id"),
  CONSTRAINT "users_name_check" CHECK (length("name") BETWEEN 1 AND 100)
);
ALTER TABLE "users" ADD CONSTRAINT "users_tenant_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id");
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
CREATE POLICY "users_tenant_floor" ON "users" AS RESTRICTIVE FOR ALL TO PUBLIC
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "users_select" ON "users" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING ("tenant_id" = ${T});
CREATE POLICY "users_insert" ON "users" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "users_update" ON "users" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "users_delete" ON "users" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING ("tenant_id" = ${T});
REVOKE ALL ON TABLE "users" FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "users" TO "rowfence_app";
`)
  })

  it('makes foreign keys composite, indexes them leading with tenant_id, and scopes unique keys to the tenant', () => {
    const notes = tenantTable('notes', {
      columns: {
        id: uuid().primaryKey().defaultRandom(),
        article_id: uuid(),
        slug: text().notNull().unique(),
        lang: text().notNull(),
        body: text(),
      },
      references: [{ columns: ['article_id'], table: articles, onDelete: 'set null' }],
      unique: [['lang', 'body']],
      indexes: [['lang'], ['lang', 'body']],
    })
    const schema = rowfenceSchema({ tables: [tenants, users, articles, notes], appRole: 'rowfence_app' })
    expect(tableSql(schema, 'notes', ['createTable', 'addForeignKey', 'createIndex']))
      .toBe(`CREATE TABLE "notes" (
  "tenant_id" uuid NOT NULL DEFAULT "rowfence"."current_tenant_id"(),
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "article_id" uuid,
  "slug" text NOT NULL,
  "lang" text NOT NULL,
  "body" text,
  CONSTRAINT "notes_pkey" PRIMARY KEY ("tenant_id", "id"),
  CONSTRAINT "notes_slug_key" UNIQUE ("tenant_id", "slug"),
  CONSTRAINT "notes_lang_body_key" UNIQUE ("tenant_id", "lang", "body")
);
ALTER TABLE "notes" ADD CONSTRAINT "notes_tenant_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id");
ALTER TABLE "notes" ADD CONSTRAINT "notes_article_id_fkey" FOREIGN KEY ("tenant_id", "article_id") REFERENCES "articles" ("tenant_id", "id") ON DELETE SET NULL ("article_id");
CREATE INDEX "notes_article_id_idx" ON "notes" ("tenant_id", "article_id");
`)
    // (tenant_id, lang) and (tenant_id, lang, body) are already led by the unique key: no extra index.
  })

  it('creates a referenced table before the table that references it, whatever the order given', () => {
    const schema = rowfenceSchema({ tables: [articles, users, tenants], appRole: 'rowfence_app' })
    expect(schema.model.tables.map((table) => table.name)).toEqual(['tenants', 'users', 'articles'])
    expect(renderSchema(schema)).toBe(renderSchema(example))
  })

  it('renders constant defaults as literals, quotes included', () => {
    const t = tenantTable('defaults', {
      columns: {
        id: bigint().primaryKey(),
        quote: text().default("it's"),
        slash: text().default('C:\\temp'),
        big: bigint().default(9007199254740993n),
        flag: boolean().notNull().default(false),
        doc: jsonb().default({ a: ["b'c"] }),
        price: numeric().default('12.50').min(0).max(1e6),
        n: integer().max(10),
      },
    })
    const schema = rowfenceSchema({ tables: [t], appRole: 'app' })
    expect(tableSql(schema, 'defaults', ['createTable'])).toBe(`CREATE TABLE "defaults" (
  "tenant_id" uuid NOT NULL DEFAULT "rowfence"."current_tenant_id"(),
  "id" bigint NOT NULL,
  "quote" text DEFAULT 'it''s',
  "slash" text DEFAULT E'C:\\\\temp',
  "big" bigint DEFAULT 9007199254740993,
  "flag" boolean NOT NULL DEFAULT false,
  "doc" jsonb DEFAULT '{"a":["b''c"]}',
  "price" numeric DEFAULT 12.50,
  "n" integer,
  CONSTRAINT "defaults_pkey" PRIMARY KEY ("tenant_id", "id"),
  CONSTRAINT "defaults_price_check" CHECK ("price" BETWEEN 0 AND 1000000),
  CONSTRAINT "defaults_n_check" CHECK ("n" <= 10)
);
`)
  })
})

describe('policy variants', () => {
  const members = tenantTable('members', { columns: { id: uuid().primaryKey() } })
  const variant = (policies: TablePolicies<'id' | 'owner_id'>): RowfenceSchema =>
    rowfenceSchema({
      tables: [
        members,
        tenantTable('docs', {
          columns: { id: uuid().primaryKey(), owner_id: uuid() },
          references: [{ columns: ['owner_id'], table: members }],
          policies,
        }),
      ],
      appRole: 'app',
    })
  const floor = `CREATE POLICY "docs_tenant_floor" ON "docs" AS RESTRICTIVE FOR ALL TO PUBLIC
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});`
  const mine = `"tenant_id" = ${T} AND "owner_id" = ${U}`

  it('whole tenant reads and writes', () => {
    expect(policiesAndGrants(variant({ read: 'tenant', write: 'tenant' }), 'docs')).toBe(`${floor}
CREATE POLICY "docs_select" ON "docs" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING ("tenant_id" = ${T});
CREATE POLICY "docs_insert" ON "docs" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "docs_update" ON "docs" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "docs_delete" ON "docs" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING ("tenant_id" = ${T});
REVOKE ALL ON TABLE "docs" FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "docs" TO "app";
`)
  })

  it('the defaults are whole-tenant reads and writes', () => {
    expect(policiesAndGrants(variant({}), 'docs')).toBe(
      policiesAndGrants(variant({ read: 'tenant', write: 'tenant' }), 'docs'),
    )
  })

  it('whole tenant reads, only the owner writes (the explicit WITH CHECK re-checks tenant_id)', () => {
    expect(policiesAndGrants(variant({ read: 'tenant', write: { ownerColumn: 'owner_id' } }), 'docs'))
      .toBe(`${floor}
CREATE POLICY "docs_select" ON "docs" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING ("tenant_id" = ${T});
CREATE POLICY "docs_insert" ON "docs" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK (${mine});
CREATE POLICY "docs_update" ON "docs" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING (${mine})
  WITH CHECK (${mine});
CREATE POLICY "docs_delete" ON "docs" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING (${mine});
REVOKE ALL ON TABLE "docs" FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "docs" TO "app";
`)
  })

  it('only the owner reads and writes', () => {
    expect(
      policiesAndGrants(
        variant({ read: { ownerColumn: 'owner_id' }, write: { ownerColumn: 'owner_id' } }),
        'docs',
      ),
    ).toBe(`${floor}
CREATE POLICY "docs_select" ON "docs" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING (${mine});
CREATE POLICY "docs_insert" ON "docs" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK (${mine});
CREATE POLICY "docs_update" ON "docs" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING (${mine})
  WITH CHECK (${mine});
CREATE POLICY "docs_delete" ON "docs" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING (${mine});
REVOKE ALL ON TABLE "docs" FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "docs" TO "app";
`)
  })

  it('read-only: SELECT for the app role; only the migrating role writes, inside the tenant', () => {
    expect(policiesAndGrants(variant({ read: 'tenant', write: 'none' }), 'docs')).toBe(`${floor}
CREATE POLICY "docs_select" ON "docs" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING ("tenant_id" = ${T});
CREATE POLICY "docs_maintenance" ON "docs" AS PERMISSIVE FOR ALL TO CURRENT_USER
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
REVOKE ALL ON TABLE "docs" FROM PUBLIC;
GRANT SELECT ON TABLE "docs" TO "app";
`)
  })

  it('the tenants table compares id with the tenant and is read-only by default', () => {
    expect(tableSql(example, 'tenants')).toBe(`-- "tenants": the tenants table (its id is the tenant id)
CREATE TABLE "tenants" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "name" text NOT NULL,
  CONSTRAINT "tenants_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "tenants_name_key" UNIQUE ("name")
);
ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenants_tenant_floor" ON "tenants" AS RESTRICTIVE FOR ALL TO PUBLIC
  USING ("id" = ${T})
  WITH CHECK ("id" = ${T});
CREATE POLICY "tenants_select" ON "tenants" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING ("id" = ${T});
CREATE POLICY "tenants_maintenance" ON "tenants" AS PERMISSIVE FOR ALL TO CURRENT_USER
  USING ("id" = ${T})
  WITH CHECK ("id" = ${T});
REVOKE ALL ON TABLE "tenants" FROM PUBLIC;
GRANT SELECT ON TABLE "tenants" TO "rowfence_app";
`)
  })
})

describe('tenantRoles', () => {
  const docs = tenantTable('docs', { columns: { id: uuid().primaryKey() } })

  it('binds the floor and the feature policies to the named roles instead of PUBLIC', () => {
    const schema = rowfenceSchema({ tables: [docs], appRole: 'app', tenantRoles: ['app', 'owner'] })
    expect(policiesAndGrants(schema, 'docs'))
      .toBe(`CREATE POLICY "docs_tenant_floor" ON "docs" AS RESTRICTIVE FOR ALL TO "app", "owner"
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "docs_select" ON "docs" AS PERMISSIVE FOR SELECT TO "app", "owner"
  USING ("tenant_id" = ${T});
CREATE POLICY "docs_insert" ON "docs" AS PERMISSIVE FOR INSERT TO "app", "owner"
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "docs_update" ON "docs" AS PERMISSIVE FOR UPDATE TO "app", "owner"
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "docs_delete" ON "docs" AS PERMISSIVE FOR DELETE TO "app", "owner"
  USING ("tenant_id" = ${T});
REVOKE ALL ON TABLE "docs" FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "docs" TO "app";
`)
  })

  it('must include the app role and name real roles', () => {
    for (const tenantRoles of [[], ['owner'], ['app', 'public'], ['app', 'pg_read_all_data']]) {
      expect(() => rowfenceSchema({ tables: [docs], appRole: 'app', tenantRoles })).toThrow(
        expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }),
      )
    }
  })

  it('changing them is a policy change: drop and re-create', () => {
    const before = rowfenceSchema({ tables: [docs], appRole: 'app' })
    const after = rowfenceSchema({ tables: [docs], appRole: 'app', tenantRoles: ['app', 'owner'] })
    const sql = compileOperations(diffSchemas(before.model, after.model))
    expect(sql).toContain('DROP POLICY "docs_tenant_floor" ON "docs";')
    expect(sql).toContain(
      'CREATE POLICY "docs_tenant_floor" ON "docs" AS RESTRICTIVE FOR ALL TO "app", "owner"',
    )
  })
})

describe('Citus flavour', () => {
  it('distributes by tenant_id, makes the tenants table a reference table, and calls the context without sub-selects or RESTRICTIVE policies', () => {
    const schema = rowfenceSchema({
      tables: [tenants, users, articles],
      appRole: 'rowfence_app',
      distributed: true,
    })
    const sql = renderSchema(schema)
    expect(sql).not.toContain('(SELECT')
    // Citus 13 creates policies on the shards as PERMISSIVE: every policy carries the tenant check instead.
    expect(sql).not.toContain('RESTRICTIVE')
    expect(sql.startsWith(`SET LOCAL citus.multi_shard_modify_mode TO 'sequential';\n`)).toBe(true)
    expect(tableSql(schema, 'tenants', ['createTable', 'distributeTable'])).toBe(`CREATE TABLE "tenants" (
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "name" text NOT NULL,
  CONSTRAINT "tenants_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "tenants_name_key" UNIQUE ("name")
);
SELECT create_reference_table('"tenants"');
`)
    expect(tableSql(schema, 'articles')).toBe(`-- "articles": tenant table
CREATE TABLE "articles" (
  "tenant_id" uuid NOT NULL,
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "user_id" uuid NOT NULL,
  "title" text NOT NULL,
  "pages" integer NOT NULL DEFAULT 0,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "articles_pkey" PRIMARY KEY ("tenant_id", "id"),
  CONSTRAINT "articles_pages_check" CHECK ("pages" >= 0)
);
SELECT create_distributed_table('"articles"', 'tenant_id');
ALTER TABLE "articles" ADD CONSTRAINT "articles_tenant_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id");
ALTER TABLE "articles" ADD CONSTRAINT "articles_user_id_fkey" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users" ("tenant_id", "id") ON DELETE CASCADE;
CREATE INDEX "articles_user_id_idx" ON "articles" ("tenant_id", "user_id");
ALTER TABLE "articles" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "articles" FORCE ROW LEVEL SECURITY;
CREATE POLICY "articles_select" ON "articles" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING ("tenant_id" = "rowfence"."current_tenant_id"());
CREATE POLICY "articles_insert" ON "articles" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK ("tenant_id" = "rowfence"."current_tenant_id"() AND "user_id" = "rowfence"."current_user_id"());
CREATE POLICY "articles_update" ON "articles" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING ("tenant_id" = "rowfence"."current_tenant_id"() AND "user_id" = "rowfence"."current_user_id"())
  WITH CHECK ("tenant_id" = "rowfence"."current_tenant_id"() AND "user_id" = "rowfence"."current_user_id"());
CREATE POLICY "articles_delete" ON "articles" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING ("tenant_id" = "rowfence"."current_tenant_id"() AND "user_id" = "rowfence"."current_user_id"());
REVOKE ALL ON TABLE "articles" FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "articles" TO "rowfence_app";
`)
  })

  it('keeps the distribution column in every key and foreign key of a distributed table', () => {
    const schema = rowfenceSchema({
      tables: [tenants, users, articles],
      appRole: 'rowfence_app',
      distributed: true,
    })
    for (const table of schema.model.tables.filter((t) => t.distribution?.kind === 'hash')) {
      for (const key of [table.primaryKey, ...table.uniques, ...table.indexes, ...table.foreignKeys]) {
        expect(key.columns[0], `${table.name}.${key.name}`).toBe('tenant_id')
      }
    }
  })
})

describe('hostile identifiers', () => {
  it('are quoted by doubling quotes, whatever they contain', () => {
    const parent = tenantTable('Order', { columns: { 'Mixed Case': uuid().primaryKey() } })
    const hostile = tenantTable('x"; drop table t --', {
      columns: {
        select: uuid().primaryKey(),
        'a"b': text().unique(),
        user: uuid(),
      },
      references: [{ columns: ['user'], table: parent }],
      policies: { write: { ownerColumn: 'user' } },
    })
    const schema = rowfenceSchema({ tables: [parent, hostile], appRole: 'App Role' })
    expect(tableSql(schema, 'x"; drop table t --', ['createTable', 'addForeignKey', 'createIndex', 'grant']))
      .toBe(`CREATE TABLE "x""; drop table t --" (
  "tenant_id" uuid NOT NULL DEFAULT "rowfence"."current_tenant_id"(),
  "select" uuid NOT NULL,
  "a""b" text,
  "user" uuid,
  CONSTRAINT "x""; drop table t --_pkey" PRIMARY KEY ("tenant_id", "select"),
  CONSTRAINT "x""; drop table t --_a""b_key" UNIQUE ("tenant_id", "a""b")
);
ALTER TABLE "x""; drop table t --" ADD CONSTRAINT "x""; drop table t --_user_fkey" FOREIGN KEY ("tenant_id", "user") REFERENCES "Order" ("tenant_id", "Mixed Case");
CREATE INDEX "x""; drop table t --_user_idx" ON "x""; drop table t --" ("tenant_id", "user");
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "x""; drop table t --" TO "App Role";
`)
  })

  it('cannot break out of a generated comment (a line break inside a quoted identifier is legal)', () => {
    const t = tenantTable('a\nDROP TABLE t; --', { columns: { id: uuid().primaryKey() } })
    const sql = renderSchema(rowfenceSchema({ tables: [t], appRole: 'app' }))
    expect(sql).toContain('\n-- "a\\nDROP TABLE t; --": tenant table\nCREATE TABLE "a\nDROP TABLE t; --" (\n')
  })

  it('shortens generated names PostgreSQL would truncate, deterministically and without collisions', () => {
    const long = 'a'.repeat(60)
    const t = tenantTable(long, {
      columns: { id: uuid().primaryKey(), x: text().unique(), y: text().unique() },
    })
    const model = rowfenceSchema({ tables: [t], appRole: 'app' }).model.tables[0]!
    const names = [model.primaryKey.name, ...model.uniques.map((key) => key.name)]
    expect(names.every((name) => Buffer.byteLength(name) <= 63)).toBe(true)
    expect(new Set(names).size).toBe(3)
    expect(names[0]).toMatch(/^a{54}_[0-9a-f]{8}$/)
    expect(rowfenceSchema({ tables: [t], appRole: 'app' }).model.tables[0]!.primaryKey.name).toBe(names[0])
  })
})

describe('definition mistakes are ROWFENCE_SCHEMA_INVALID', () => {
  const parent = tenantTable('parent', { columns: { id: uuid().primaryKey() } })
  const t = (options: Parameters<typeof tenantTable>[1]): TenantTable[] => [tenantTable('t', options)]
  const cases: [string, () => TenantTable[]][] = [
    [
      'a table that defines tenant_id itself',
      () => t({ columns: { id: uuid().primaryKey(), tenant_id: uuid() } }),
    ],
    ['a table without a primary key', () => t({ columns: { name: text() } })],
    [
      'a table name over 63 bytes',
      () => [tenantTable('é'.repeat(32), { columns: { id: uuid().primaryKey() } })],
    ],
    [
      'an unknown owner column',
      () => t({ columns: { id: uuid().primaryKey() }, policies: { write: { ownerColumn: 'nope' } } }),
    ],
    [
      'an owner column that is not a uuid',
      () =>
        t({ columns: { id: uuid().primaryKey(), who: text() }, policies: { read: { ownerColumn: 'who' } } }),
    ],
    [
      'a reference to a table outside the schema',
      () =>
        t({
          columns: { id: uuid().primaryKey(), p: uuid() },
          references: [
            { columns: ['p'], table: tenantTable('other', { columns: { id: uuid().primaryKey() } }) },
          ],
        }),
    ],
    [
      'a reference with the wrong number of columns',
      () =>
        t({
          columns: { id: uuid().primaryKey(), p: uuid(), q: uuid() },
          references: [{ columns: ['p', 'q'], table: parent }],
        }),
    ],
    [
      'a reference with the wrong type',
      () =>
        t({
          columns: { id: uuid().primaryKey(), p: text() },
          references: [{ columns: ['p'], table: parent }],
        }),
    ],
    [
      "'set null' on a NOT NULL column",
      () =>
        t({
          columns: { id: uuid().primaryKey(), p: uuid().notNull() },
          references: [{ columns: ['p'], table: parent, onDelete: 'set null' }],
        }),
    ],
    [
      'an explicit reference to the tenants table',
      () =>
        t({
          columns: { id: uuid().primaryKey(), p: uuid() },
          references: [{ columns: ['p'], table: tenants }],
        }),
    ],
    [
      'a unique constraint on an unknown column',
      () => t({ columns: { id: uuid().primaryKey() }, unique: [['nope']] }),
    ],
    [
      'a column that is not a column builder',
      () => t({ columns: { id: uuid().primaryKey(), x: 'text' as unknown as ReturnType<typeof text> } }),
    ],
    ['.unique() on the primary key', () => t({ columns: { id: uuid().primaryKey().unique() } })],
    [
      'a reference that is not a table',
      () =>
        t({
          columns: { id: uuid().primaryKey(), p: uuid() },
          references: [{ columns: ['p'], table: 'parent' as unknown as TenantTable }],
        }),
    ],
    ['two tables with one name', () => [parent]],
    ['two tenants tables', () => [tenantsTable('orgs', { columns: { id: uuid().primaryKey() } })]],
  ]
  it.each(cases)('%s', (_label, extra) => {
    expect(() => rowfenceSchema({ tables: [parent, tenants, ...extra()], appRole: 'app' })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }),
    )
  })

  it('a reference to another definition of a table with the same name says so', () => {
    const copy = tenantTable('parent', { columns: { id: uuid().primaryKey() } })
    const child = tenantTable('child', {
      columns: { id: uuid().primaryKey(), p: uuid() },
      references: [{ columns: ['p'], table: copy }],
    })
    expect(() => rowfenceSchema({ tables: [parent, child], appRole: 'app' })).toThrow(
      /another definition of table "parent"/,
    )
  })

  it('a tenants table without a uuid id key', () => {
    const orgs = tenantsTable('orgs', { columns: { key: uuid().primaryKey() } })
    expect(() => rowfenceSchema({ tables: [orgs], appRole: 'app' })).toThrow(/id: uuid\(\)\.primaryKey\(\)/)
  })

  it.each([
    ['public', 'a reserved app role'],
    ['', 'an empty app role'],
  ])('appRole %j (%s)', (appRole) => {
    expect(() => rowfenceSchema({ tables: [parent], appRole })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }),
    )
  })

  it('reference cycles and name clashes between tables and keys', () => {
    const a = tenantTable('a', { columns: { id: uuid().primaryKey() } })
    const clash = tenantTable('a_pkey', { columns: { id: uuid().primaryKey() } })
    expect(() => rowfenceSchema({ tables: [a, clash], appRole: 'app' })).toThrow(/a_pkey/)
    const first: { table?: TenantTable } = {}
    const b = tenantTable('b', {
      columns: { id: uuid().primaryKey(), c: uuid() },
      get references() {
        return [{ columns: ['c' as const], table: first.table! }]
      },
    })
    first.table = tenantTable('c', {
      columns: { id: uuid().primaryKey(), b: uuid() },
      references: [{ columns: ['b'], table: b }],
    })
    expect(() => rowfenceSchema({ tables: [b, first.table!], appRole: 'app' })).toThrow(/cycle/)
  })

  it('wrong defaults and checks fail when the column is defined', () => {
    expect(() => integer().default(1.5)).toThrow(expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }))
    expect(() => text().length(5, 1)).toThrow(expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }))
    expect(() => (text() as unknown as ReturnType<typeof uuid>).defaultRandom()).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }),
    )
    expect(() => numeric().default('1; DROP TABLE t')).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_SCHEMA_INVALID' }),
    )
  })
})

describe('diffs', () => {
  const v1 = example.model
  /** The example's articles, referencing the given users definition (references are by object). */
  const articlesOf = (usersTable: TenantTable): TenantTable =>
    tenantTable('articles', {
      columns: articles.columns,
      references: [{ columns: ['user_id'], table: usersTable, onDelete: 'cascade' }],
      policies: { read: 'tenant', write: { ownerColumn: 'user_id' } },
    })
  const changedArticles = tenantTable('articles', {
    columns: {
      id: uuid().primaryKey().defaultRandom(),
      user_id: uuid().notNull(),
      title: text().notNull(),
      pages: integer().notNull().default(0).min(0),
      created_at: timestamptz(),
      summary: text().notNull().default(''),
    },
    references: [{ columns: ['user_id'], table: users, onDelete: 'cascade' }],
    policies: { read: 'tenant', write: 'tenant' },
  })

  it('nothing changed -> no operations', () => {
    expect(diffSchemas(v1, v1)).toEqual([])
    expect(diffSchemas(JSON.parse(JSON.stringify(v1)), v1)).toEqual([])
  })

  it('new column, changed column and changed policies', () => {
    const v2 = rowfenceSchema({ tables: [tenants, users, changedArticles], appRole: 'rowfence_app' }).model
    expect(compileOperations(diffSchemas(v1, v2))).toBe(`-- Removed or changed
DROP POLICY "articles_insert" ON "articles";
DROP POLICY "articles_update" ON "articles";
DROP POLICY "articles_delete" ON "articles";

-- Added or changed
ALTER TABLE "articles" ALTER COLUMN "created_at" DROP DEFAULT;
ALTER TABLE "articles" ALTER COLUMN "created_at" DROP NOT NULL;
ALTER TABLE "articles" ADD COLUMN "summary" text NOT NULL DEFAULT '';
CREATE POLICY "articles_insert" ON "articles" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "articles_update" ON "articles" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
CREATE POLICY "articles_delete" ON "articles" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING ("tenant_id" = ${T});
`)
  })

  it('dropped policies and grants when a table becomes read-only', () => {
    const readOnly = tenantTable('users', {
      columns: { id: uuid().primaryKey().defaultRandom(), name: text().notNull().length(1, 100) },
      policies: { write: 'none' },
    })
    const v2 = rowfenceSchema({
      tables: [tenants, readOnly, articlesOf(readOnly)],
      appRole: 'rowfence_app',
    }).model
    expect(compileOperations(diffSchemas(v1, v2))).toBe(`-- Removed or changed
DROP POLICY "users_insert" ON "users";
DROP POLICY "users_update" ON "users";
DROP POLICY "users_delete" ON "users";
REVOKE INSERT, UPDATE, DELETE ON TABLE "users" FROM "rowfence_app";

-- Added or changed
CREATE POLICY "users_maintenance" ON "users" AS PERMISSIVE FOR ALL TO CURRENT_USER
  USING ("tenant_id" = ${T})
  WITH CHECK ("tenant_id" = ${T});
`)
  })

  it('a new table that references an existing one, and a NOT NULL column without default gets a warning', () => {
    const comments = (parent: TenantTable): TenantTable =>
      tenantTable('comments', {
        columns: { id: uuid().primaryKey().defaultRandom(), article_id: uuid().notNull() },
        references: [{ columns: ['article_id'], table: parent }],
      })
    const wider = tenantTable('users', {
      columns: {
        id: uuid().primaryKey().defaultRandom(),
        name: text().notNull().length(1, 100),
        email: text().notNull().unique(),
      },
    })
    const widerArticles = articlesOf(wider)
    const v2 = rowfenceSchema({
      tables: [tenants, wider, widerArticles, comments(widerArticles)],
      appRole: 'rowfence_app',
    }).model
    const sql = compileOperations(diffSchemas(v1, v2))
    expect(
      sql.startsWith(`-- "comments": tenant table
CREATE TABLE "comments" (
  "tenant_id" uuid NOT NULL DEFAULT "rowfence"."current_tenant_id"(),
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "article_id" uuid NOT NULL,
  CONSTRAINT "comments_pkey" PRIMARY KEY ("tenant_id", "id")
);
ALTER TABLE "comments" ADD CONSTRAINT "comments_tenant_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id");
ALTER TABLE "comments" ADD CONSTRAINT "comments_article_id_fkey" FOREIGN KEY ("tenant_id", "article_id") REFERENCES "articles" ("tenant_id", "id");
CREATE INDEX "comments_article_id_idx" ON "comments" ("tenant_id", "article_id");
ALTER TABLE "comments" ENABLE ROW LEVEL SECURITY;
`),
    ).toBe(true)
    expect(
      sql.endsWith(`-- Added or changed

-- "users"."email" is NOT NULL without a default: this fails if "users" has rows
ALTER TABLE "users" ADD COLUMN "email" text NOT NULL;
ALTER TABLE "users" ADD CONSTRAINT "users_email_key" UNIQUE ("tenant_id", "email");
`),
    ).toBe(true)
  })

  it('refuses to drop tables or columns unless allowed, then drops them after their policies', () => {
    const narrower = tenantTable('users', { columns: { id: uuid().primaryKey().defaultRandom() } })
    const v2 = rowfenceSchema({ tables: [tenants, narrower], appRole: 'rowfence_app' }).model
    expect(() => diffSchemas(v1, v2)).toThrow(
      expect.objectContaining({
        code: 'ROWFENCE_SCHEMA_CHANGE_DESTRUCTIVE',
        details: { drops: ['column "users"."name"', 'table "articles"'] },
      }),
    )
    expect(compileOperations(diffSchemas(v1, v2, { allowDrop: true }))).toBe(`-- Removed or changed
ALTER TABLE "users" DROP CONSTRAINT "users_name_check";
ALTER TABLE "users" DROP COLUMN "name";
DROP TABLE "articles";
`)
  })

  it('a changed column type is ALTER COLUMN ... TYPE with an explicit cast', () => {
    const v2 = rowfenceSchema({
      tables: [
        tenants,
        users,
        tenantTable('articles', {
          columns: { ...articles.columns, title: jsonb().notNull() },
          references: [{ columns: ['user_id'], table: users, onDelete: 'cascade' }],
          policies: { read: 'tenant', write: { ownerColumn: 'user_id' } },
        }),
      ],
      appRole: 'rowfence_app',
    }).model
    expect(compileOperations(diffSchemas(v1, v2))).toBe(`-- Added or changed
ALTER TABLE "articles" ALTER COLUMN "title" TYPE jsonb USING "title"::jsonb;
`)
  })

  it('changes it cannot express are ROWFENCE_SCHEMA_CHANGE_UNSUPPORTED', () => {
    const otherRole = rowfenceSchema({ tables: [tenants, users, articles], appRole: 'someone_else' }).model
    expect(() => diffSchemas(v1, otherRole)).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_SCHEMA_CHANGE_UNSUPPORTED' }),
    )
    const citus = rowfenceSchema({
      tables: [tenants, users, articles],
      appRole: 'rowfence_app',
      distributed: true,
    }).model
    expect(() => diffSchemas(v1, citus)).toThrow(/flavour/)
  })
})
