/** `@rowfence/kysely`: a Kysely dialect whose queries and transactions run in the tenant context. */
export { TenantPostgresDialect, type TenantPostgresDialectConfig } from './tenant-dialect.ts'
export { asTenant, withTenant, fromDatabaseError, isRowfenceError, type TenantContext } from '@rowfence/core'
