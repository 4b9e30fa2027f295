import {
  integer,
  rowfenceSchema,
  tenantsTable,
  tenantTable,
  text,
  timestamptz,
  uuid,
} from '@rowfence/core/schema'

/**
 * The small example schema of docs/schema.md: tenants, their users, and articles the whole tenant reads
 * but only the author writes. Also loaded by the CLI tests through `rowfence generate --schema`.
 */
export const tenants = tenantsTable('tenants', {
  columns: { id: uuid().primaryKey().defaultRandom(), name: text().notNull().unique() },
})

export const users = tenantTable('users', {
  columns: { id: uuid().primaryKey().defaultRandom(), name: text().notNull().length(1, 100) },
})

export const articles = tenantTable('articles', {
  columns: {
    id: uuid().primaryKey().defaultRandom(),
    user_id: uuid().notNull(),
    title: text().notNull(),
    pages: integer().notNull().default(0).min(0),
    created_at: timestamptz().notNull().defaultNow(),
  },
  references: [{ columns: ['user_id'], table: users, onDelete: 'cascade' }],
  policies: { read: 'tenant', write: { ownerColumn: 'user_id' } },
})

export const schema = rowfenceSchema({ tables: [tenants, users, articles], appRole: 'rowfence_app' })
