import {
  TenantPool,
  type TenantContext,
  type TenantTransaction,
  type WithTenantOptions,
} from '@rowfence/core'
import type { ContextMode, TenantContextConfig } from '@rowfence/core'
import type { DrizzleConfig } from 'drizzle-orm'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import type { Pool } from 'pg'

export interface TenantDrizzleOptions<
  TSchema extends Record<string, unknown>,
> extends DrizzleConfig<TSchema> {
  /** Id types, setting names and claims of the context (see defineContextConfig in @rowfence/core). */
  readonly contextConfig?: TenantContextConfig | undefined
  /** `set-local` on Citus (see ContextMode in @rowfence/core). */
  readonly contextMode?: ContextMode | undefined
  /**
   * Behind a transaction-mode pooler that does not keep prepared statements (PgBouncer < 1.21, RDS Proxy,
   * Supavisor): every statement goes out unnamed. Otherwise statements with parameters are prepared once
   * per connection and planned by rowfence's plan advisor.
   */
  readonly pooler?: boolean | undefined
}

export type TenantDrizzleDatabase<TSchema extends Record<string, unknown> = Record<string, never>> =
  NodePgDatabase<TSchema> & {
    $client: TenantPool
    /**
     * One tenant transaction for `fn`: every query of this database inside it (and `db.transaction()`,
     * which becomes a savepoint) runs on that transaction. The result, a lazy query included, is awaited
     * inside the context. Commits when `fn` resolves, rolls back when it throws.
     */
    withTenant<T>(
      context: TenantContext,
      fn: (tx: TenantTransaction) => T | PromiseLike<T>,
      options?: WithTenantOptions,
    ): Promise<T>
  }

/**
 * A Drizzle database over `pool` (the app role's node-postgres pool) that runs every query as the tenant
 * of the enclosing `withTenant()` (one transaction) or `asTenant()` (each statement alone in one round
 * trip; a `db.transaction()` becomes one tenant transaction) and refuses, with
 * ROWFENCE_NO_TENANT_CONTEXT, to run anywhere else.
 */
export function createTenantDrizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  pool: Pool,
  options: TenantDrizzleOptions<TSchema> = {},
): TenantDrizzleDatabase<TSchema> {
  const { contextConfig, contextMode, pooler, ...config } = options
  const client = new TenantPool(pool, { contextConfig, contextMode, pooler })
  const db = drizzle({
    ...config,
    client: client as unknown as Pool,
  }) as unknown as TenantDrizzleDatabase<TSchema>
  return Object.assign(db, {
    withTenant: function withTenantDrizzle<T>(
      context: TenantContext,
      fn: (tx: TenantTransaction) => T | PromiseLike<T>,
      withTenantOptions?: WithTenantOptions,
    ): Promise<T> {
      return client.withTenant(context, fn, withTenantOptions)
    },
  })
}
