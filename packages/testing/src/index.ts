/** `@rowfence/testing`: tenant-isolation helpers for your own test suite (vitest-friendly). */
export { asTenant, type AsTenantOptions } from './as-tenant.ts'
export {
  expectTenantIsolation,
  TenantIsolationError,
  type ExpectTenantIsolationOptions,
} from './expect-tenant-isolation.ts'
