/** `@rowfence/prisma`: a Prisma 7 driver adapter whose queries and transactions run in the tenant context. */
export { PrismaRowfence, type PrismaRowfenceOptions } from './prisma-rowfence.ts'
export { asTenant, withTenant, fromDatabaseError, isRowfenceError, type TenantContext } from '@rowfence/core'
