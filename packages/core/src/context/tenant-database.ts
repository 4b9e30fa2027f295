import type { Pool, QueryResult, QueryResultRow } from 'pg'
import { RowfenceError } from '../errors.ts'
import type { TenantContext } from './tenant-context.ts'
import {
  currentTransaction,
  queryAsTenant,
  withTenant,
  type TenantQueryable,
  type TenantQueryConfig,
  type TenantTransaction,
  type WithTenantOptions,
} from './with-tenant.ts'

/**
 * A pool wrapped so that tenant data can only be reached through a context. `query()` runs on the
 * transaction of the enclosing `withTenant()` callback and refuses, with ROWFENCE_NO_TENANT_CONTEXT,
 * to run anywhere else. Hand this object, not the pool, to application code.
 */
export interface TenantDatabase extends TenantQueryable {
  withTenant<T>(
    context: TenantContext,
    fn: (tx: TenantTransaction) => Promise<T>,
    options?: WithTenantOptions,
  ): Promise<T>
  /** One statement as a tenant in one round trip (see queryAsTenant). */
  queryAsTenant<R extends QueryResultRow = QueryResultRow>(
    context: TenantContext,
    query: string | TenantQueryConfig,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>>
  /** Ends the underlying pool. */
  end(): Promise<void>
}

export function createTenantDatabase(pool: Pool): TenantDatabase {
  return {
    withTenant: (context, fn, options) => withTenant(pool, context, fn, options),
    queryAsTenant: (context, query, values) => queryAsTenant(pool, context, query, values),
    query: function queryInCurrentTenant(query, values) {
      const tx = currentTransaction()
      if (!tx) return Promise.reject(new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT'))
      return tx.query(query, values)
    },
    end: () => pool.end(),
  }
}
