/** `@rowfence/drizzle`: a Drizzle database (node-postgres driver) whose every query runs in the tenant context. */
export {
  createTenantDrizzle,
  type TenantDrizzleDatabase,
  type TenantDrizzleOptions,
} from './tenant-drizzle.ts'
export { asTenant, withTenant, fromDatabaseError, isRowfenceError, type TenantContext } from '@rowfence/core'
