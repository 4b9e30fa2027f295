import type { Pool, QueryResult, QueryResultRow } from 'pg'
import { RowfenceError } from '../errors.ts'
import { checkOut, connectionError } from './connection.ts'
import type { TenantContextConfig } from './context-config.ts'
import { contextModeOf, type ContextMode, type ContextModeOptions } from './context-statements.ts'
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
  /**
   * Readiness probe: `SELECT 1` on a pooled connection (no tenant context, no tenant data). Rejects with
   * ROWFENCE_DATABASE_UNAVAILABLE or ROWFENCE_DATABASE_BUSY when the database cannot serve requests.
   */
  ping(): Promise<void>
  /** Ends the underlying pool. */
  end(): Promise<void>
}

export interface TenantDatabaseOptions extends ContextModeOptions {
  /**
   * Pooler mode for every unit of work of this handle: only unnamed statements, for transaction-mode
   * poolers without prepared-statement support (see PoolerOptions). Default false: named statements.
   */
  readonly pooler?: boolean | undefined
  /** Id types, setting names, claims, the signed context (see defineContextConfig). */
  readonly contextConfig?: TenantContextConfig | undefined
}

/** The pool and options behind each handle, for request transactions (see createRequestTransaction). */
/** What a handle stands for: its pool and the options every unit of work of it gets. */
export interface DatabaseHandle {
  readonly pool: Pool
  readonly options: {
    readonly pooler: boolean
    readonly contextMode: ContextMode
    readonly contextConfig: TenantContextConfig | undefined
  }
}

const handles = new WeakMap<TenantDatabase, DatabaseHandle>()

/** @internal The pool and pooler mode behind a TenantDatabase, if `value` is one. */
export function databaseHandle(value: unknown): DatabaseHandle | undefined {
  return typeof value === 'object' && value !== null ? handles.get(value as TenantDatabase) : undefined
}

export function createTenantDatabase(
  pool: Pool,
  databaseOptions: TenantDatabaseOptions = {},
): TenantDatabase {
  const pooler = databaseOptions.pooler === true
  const contextMode = contextModeOf(databaseOptions)
  const contextConfig = databaseOptions.contextConfig
  const database: TenantDatabase = {
    withTenant: (context, fn, options) =>
      withTenant(pool, context, fn, {
        contextMode,
        contextConfig,
        ...options,
        pooler: pooler || options?.pooler,
      }),
    queryAsTenant: (context, query, values) =>
      queryAsTenant(pool, context, query, values, { pooler, contextMode, contextConfig }),
    ping: async function pingDatabase() {
      const connection = await checkOut(pool)
      try {
        await connection.client.query('SELECT 1')
      } catch (error) {
        throw connectionError(connection, error, 'ROWFENCE_DATABASE_UNAVAILABLE', { destroyOnOther: true })
      } finally {
        connection.release()
      }
    },
    query: function queryInCurrentTenant(query, values) {
      const tx = currentTransaction()
      if (!tx) return Promise.reject(new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT'))
      return tx.query(query, values)
    },
    end: () => pool.end(),
  }
  handles.set(database, { pool, options: { pooler, contextMode, contextConfig } })
  return database
}
