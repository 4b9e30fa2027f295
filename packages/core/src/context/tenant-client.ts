import type { QueryResult } from 'pg'
import { autoNamed } from './statement-names.ts'
import type { TenantQueryConfig, TenantTransaction } from './with-tenant.ts'

type Callback = (error: Error | null, result?: QueryResult) => void

/**
 * What ORMs and stream libraries expect of a node-postgres client, bound to one tenant transaction.
 * `release()` does nothing: the withTenant() callback owns the connection.
 */
export interface TenantClient {
  query(query: unknown, values?: unknown, callback?: Callback): unknown
  release(error?: unknown): void
  on(event: string, listener: (...args: unknown[]) => void): TenantClient
  removeListener(event: string, listener: (...args: unknown[]) => void): TenantClient
  off(event: string, listener: (...args: unknown[]) => void): TenantClient
}

/** A node-postgres submittable (pg-cursor, pg-query-stream, pg-copy-streams): it drives the wire itself. */
export function isSubmittable(value: unknown): boolean {
  return typeof (value as { submit?: unknown } | null)?.submit === 'function'
}

/** @internal */
export function createTenantClient(tx: TenantTransaction): TenantClient {
  const client: TenantClient = {
    query(query: unknown, values?: unknown, callback?: Callback): unknown {
      if (isSubmittable(query)) return tx.submit(query)
      if (typeof values === 'function') {
        callback = values as Callback
        values = undefined
      }
      const config =
        typeof query === 'string' ? { text: query } : (query as TenantQueryConfig & { callback?: Callback })
      callback ??= typeof query === 'object' ? (query as { callback?: Callback }).callback : undefined
      const args = values as readonly unknown[] | undefined
      const promise = tx.query(autoNamed(config as TenantQueryConfig, args), args)
      if (!callback) return promise
      const done = callback
      promise.then(
        (result) => done(null, result),
        (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
      )
      return undefined
    },
    release() {},
    on: () => client,
    removeListener: () => client,
    off: () => client,
  }
  return client
}
