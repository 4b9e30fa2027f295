import { TenantPostgresDialect } from '@rowfence/kysely'
import { Kysely, sql } from 'kysely'
import { describeRawSqlInjection } from '../../../test/support/raw-sql-injection.ts'

// Kysely's escape hatch: `sql.raw(text).execute(db)`, SQL text as an injection leaves it.
describeRawSqlInjection('Kysely', (pool, contextConfig) => {
  const dialect = new TenantPostgresDialect({ pool, contextConfig })
  const db = new Kysely<Record<string, never>>({ dialect }) // not destroyed: the fixture ends the pool
  return {
    rows: async (text) => (await sql.raw(text).execute(db)).rows,
    execute: async (text) => Number((await sql`${sql.raw(text)}`.execute(db)).numAffectedRows ?? 0),
    withTenant: (context, fn) => dialect.tenantPool.withTenant(context, fn),
  }
})
