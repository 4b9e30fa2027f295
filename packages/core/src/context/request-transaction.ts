import type { Pool } from 'pg'
import { RowfenceError } from '../errors.ts'
import { contextConfigFor, normalizeContextWith } from './context-config.ts'
import { checkOut, type CheckedOutClient } from './connection.ts'
import { rememberPool } from './nested.ts'
import type { TenantContext } from './tenant-context.ts'
import { databaseHandle, type TenantDatabase } from './tenant-database.ts'
import { TenantPool } from './tenant-pool.ts'
import {
  beginStatement,
  commitAndRelease,
  rollbackAndRelease,
  runInTransaction,
  TenantTransaction,
  type WithTenantOptions,
} from './with-tenant.ts'

/** Where a request transaction takes its connection from: a pool, a TenantDatabase or a TenantPool. */
export type TenantConnectionSource = Pool | TenantDatabase | TenantPool

/** What a request transaction's source stands for: the pool to check out from, and its options. */
export function resolveConnectionSource(source: TenantConnectionSource): {
  readonly pool: Pool
  readonly options: WithTenantOptions
} {
  const handle = databaseHandle(source)
  if (handle) return { pool: handle.pool, options: handle.options }
  if (source instanceof TenantPool) {
    return {
      pool: source.pool,
      options: { contextConfig: source.contextConfig, contextMode: source.contextMode },
    }
  }
  if (typeof (source as Pool).connect === 'function') return { pool: source as Pool, options: {} }
  throw new TypeError('Expected a pg Pool, a TenantDatabase or a TenantPool')
}

export type RequestTransactionOptions = WithTenantOptions

/**
 * The tenant transaction of one HTTP request, for middleware. Creating it takes no connection: the first
 * query checks one out (with the error listener that keeps a cut connection from crashing the process) and
 * sends BEGIN, the context and itself in one write, exactly as withTenant() does. Code run through `run()`
 * sees it as the current transaction (currentTransaction(), TenantDatabase.query, TenantPool and the ORM
 * adapters), so handlers need not thread it through. The middleware ends it with `commit()` before the
 * response is sent, or `rollback()`; a request that never queried ends without touching the database.
 */
export class RequestTransaction {
  readonly transaction: TenantTransaction
  readonly #readOnly: boolean
  #connecting: Promise<CheckedOutClient> | undefined
  #settled = false

  constructor(
    source: TenantConnectionSource,
    context: TenantContext,
    options: RequestTransactionOptions = {},
  ) {
    const resolved = resolveConnectionSource(source)
    const merged = { ...resolved.options, ...options }
    const settings = normalizeContextWith(context, contextConfigFor(resolved.pool, merged.contextConfig))
    this.#readOnly = merged.readOnly === true
    this.transaction = new TenantTransaction(
      () => {
        this.#connecting = checkOut(resolved.pool)
        return this.#connecting.then((connection) => connection.client)
      },
      settings,
      {
        begin: beginStatement(merged),
        genericPlans: merged.genericPlans,
        pooler: merged.pooler,
        contextMode: merged.contextMode,
      },
    )
    rememberPool(this.transaction, resolved.pool)
  }

  /** Whether a connection was taken (the request queried). */
  get connected(): boolean {
    return this.#connecting !== undefined
  }

  /** Whether commit() or rollback() has been called. */
  get settled(): boolean {
    return this.#settled
  }

  /** Runs `fn` (the rest of the request) with this as the current tenant transaction. */
  run<T>(fn: () => T): T {
    return runInTransaction(this.transaction, fn)
  }

  /** The connection, if one was checked out; undefined if none was or checking out failed. */
  async #connection(): Promise<CheckedOutClient | undefined> {
    try {
      return await this.#connecting
    } catch {
      return undefined
    }
  }

  /**
   * Commits and releases the connection. Rejects with a catalogue error (a 503 when the connection was
   * lost, the server's error for a COMMIT that failed, e.g. a deferred constraint); the connection is then
   * destroyed if it cannot be trusted. Without a connection there is nothing to commit. A second call, or
   * one after rollback(), is refused with ROWFENCE_CONTEXT_CLOSED.
   */
  async commit(): Promise<void> {
    if (this.#settled) throw new RowfenceError('ROWFENCE_CONTEXT_CLOSED')
    this.#settled = true
    const connection = await this.#connection()
    if (!connection) {
      this.transaction.abandon()
      return
    }
    await commitAndRelease(this.transaction, connection, this.#readOnly)
  }

  /**
   * Rolls back and releases the connection (destroyed if the rollback failed or the connection was lost).
   * Never rejects; calling it again, or after commit(), does nothing.
   */
  async rollback(): Promise<void> {
    if (this.#settled) return
    this.#settled = true
    const connection = await this.#connection()
    if (!connection) {
      this.transaction.abandon()
      return
    }
    await rollbackAndRelease(this.transaction, connection, undefined)
  }
}

/** A request transaction for `context` on `source` (see RequestTransaction). */
export function createRequestTransaction(
  source: TenantConnectionSource,
  context: TenantContext,
  options?: RequestTransactionOptions,
): RequestTransaction {
  return new RequestTransaction(source, context, options)
}
