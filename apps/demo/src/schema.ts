import {
  bigint,
  integer,
  rowfenceSchema,
  tenantsTable,
  tenantTable,
  text,
  timestamptz,
  uuid,
} from '@rowfence/core/schema'
import { ARTICLE_LIMITS } from './data/article-limits.ts'

/**
 * The demo's database, defined once in TypeScript. `npx rowfence generate` turns changes to it into the
 * next numbered migration in ../migrations (plain SQL, committed, reviewed). What the generator does not
 * express (the storage triggers, the admin and login roles' own policies, platform tables, column
 * grants) lives in hand-written migrations next to the generated ones.
 */

/** A tenant sees its own row and cannot change it; names are global because login picks a tenant by name. */
export const tenants = tenantsTable('tenants', {
  columns: {
    id: uuid().primaryKey().defaultRandom(),
    name: text().notNull().unique().length(1, 200),
  },
})

/** The whole tenant reads and writes its items; titles are unique within a tenant. */
export const items = tenantTable('items', {
  columns: {
    id: uuid().primaryKey().defaultRandom(),
    title: text().notNull().unique().length(1, 500),
  },
})

/** The tenant reads its users (the app never sees password hashes: column grants, migration 0003); only the owner writes them. */
export const users = tenantTable('users', {
  columns: {
    id: uuid().primaryKey().defaultRandom(),
    name: text().notNull().unique().length(1, 100),
    password_hash: text().notNull(),
    created_at: timestamptz().notNull().defaultNow(),
  },
  policies: { read: 'tenant', write: 'none' },
})

/** Colleagues read each other's articles; only the author inserts, updates and deletes. */
export const articles = tenantTable('articles', {
  columns: {
    id: uuid().primaryKey().defaultRandom(),
    user_id: uuid().notNull(),
    title: text().notNull().length(ARTICLE_LIMITS.title.min, ARTICLE_LIMITS.title.max),
    body: text().notNull().default('').length(ARTICLE_LIMITS.body.min, ARTICLE_LIMITS.body.max),
    pages: integer().notNull().default(0).min(ARTICLE_LIMITS.pages.min).max(ARTICLE_LIMITS.pages.max),
    created_at: timestamptz().notNull().defaultNow(),
    updated_at: timestamptz().notNull().defaultNow(),
  },
  references: [{ columns: ['user_id'], table: users }],
  policies: { read: 'tenant', write: { ownerColumn: 'user_id' } },
})

/** Rows and bytes per tenant and table, written only by the accounting triggers (migration 0003). */
export const tenantStorage = tenantTable('tenant_storage', {
  columns: {
    table_name: text().primaryKey(),
    row_count: bigint().notNull().default(0),
    bytes: bigint().notNull().default(0),
  },
  policies: { read: 'tenant', write: 'none' },
})

export const demoSchema = rowfenceSchema({
  tables: [tenants, items, users, articles, tenantStorage],
  appRole: 'rowfence_app',
  // The floor binds the roles that act as a tenant. rowfence_admin and rowfence_auth are not tenants:
  // they get explicit read policies of their own (migration 0003), which a floor TO PUBLIC would cut.
  tenantRoles: ['rowfence_app', 'rowfence_owner'],
  // rowfence.sign_up(name, member name, member password hash): a public sign-up creates a tenant and its
  // first user through this SECURITY DEFINER function; the app role cannot insert tenants itself.
  signUp: { tenantColumns: ['name'], member: { table: users, columns: ['name', 'password_hash'] } },
  // The signed context (docs/signed-context.md): the policies trust only a value signed with a key the
  // app role cannot read, so SQL injection cannot switch tenant with set_config. Migration 0007.
  context: { signed: true },
})

/** What `rowfence generate` reads (apps/demo/rowfence.config.json names this module). */
export { demoSchema as schema }
