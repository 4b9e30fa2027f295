import { rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core'

/**
 * The demo's database, defined once in TypeScript. `npx rowfence generate` turns changes to it into the
 * next numbered migration in ../migrations (plain SQL, committed, reviewed).
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

export const demoSchema = rowfenceSchema({ tables: [tenants, items], appRole: 'rowfence_app' })
