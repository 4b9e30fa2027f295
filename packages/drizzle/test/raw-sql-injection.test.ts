import { createTenantDrizzle } from '@rowfence/drizzle'
import { sql } from 'drizzle-orm'
import { describeRawSqlInjection } from '../../../test/support/raw-sql-injection.ts'

// Drizzle's escape hatch: `db.execute(sql.raw(text))`, SQL text as an injection leaves it.
describeRawSqlInjection('Drizzle', (pool, contextConfig) => {
  const db = createTenantDrizzle(pool, { contextConfig })
  return {
    rows: async (text) => (await db.execute(sql.raw(text))).rows,
    execute: async (text) => (await db.execute(sql`${sql.raw(text)}`)).rowCount ?? 0,
    withTenant: (context, fn) => db.withTenant(context, fn),
  }
})
