import { AsyncLocalStorage } from 'node:async_hooks'
import pg from 'pg'
import type { QueryResult } from 'pg'
import { RowfenceError } from '../errors.ts'
import type { TenantContextConfig } from './context-config.ts'
import { poolOf } from './nested.ts'
import { contextModeOf, type ContextMode, type ContextModeOptions } from './context-statements.ts'
import type { TenantContext } from './tenant-context.ts'
import { isSubmittable } from './tenant-client.ts'
import { autoNamed } from './statement-names.ts'
import { classifyTransactionControl } from './transaction-control.ts'
import {
  currentTransaction,
  queryAsTenant,
  withTenant,
  type IsolationLevel,
  type TenantQueryConfig,
  type TenantTransaction,
  type WithTenantOptions,
} from './with-tenant.ts'

type Callback = (error: Error | null, result?: QueryResult) => void

const scope = new AsyncLocalStorage<TenantContext>()

/**
 * Runs `fn` as the tenant without opening a transaction: through a TenantPool (and the ORM adapters on
 * it), each statement outside an ORM transaction takes the single round trip of queryAsTenant, and an
 * ORM transaction becomes one tenant transaction. Use withTenant() instead for a unit of work that must
 * be atomic. The returned value (a lazy ORM query included) is awaited inside the scope.
 */
export function asTenant<T>(context: TenantContext, fn: () => T | PromiseLike<T>): Promise<T> {
  return scope.run(context, async () => await fn())
}

/** The context of the innermost enclosing asTenant() callback, if any. */
export function currentTenantScope(): TenantContext | undefined {
  return scope.getStore()
}

export interface TenantPoolOptions extends ContextModeOptions {
  /** Id types, setting names and claims (see defineContextConfig). */
  readonly contextConfig?: TenantContextConfig | undefined
  /**
   * Pooler mode (see PoolerOptions in withTenant): every statement goes out unnamed. Without it, the ORM's
   * statements with parameters are prepared under a name derived from their text (see autoNamed), so the
   * plan advisor can give them cached generic plans.
   */
  readonly pooler?: boolean | undefined
}

function toConfig(query: unknown): TenantQueryConfig {
  return typeof query === 'string' ? { text: query } : (query as TenantQueryConfig)
}

function withCallback(promise: Promise<QueryResult>, callback: Callback | undefined): unknown {
  if (!callback) return promise
  promise.then(
    (result) => callback(null, result),
    (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
  )
  return undefined
}

function splitArguments(
  values: unknown,
  callback: unknown,
): [readonly unknown[] | undefined, Callback | undefined] {
  if (typeof values === 'function') return [undefined, values as Callback]
  return [values as readonly unknown[] | undefined, callback as Callback | undefined]
}

const isolationModes: [RegExp, IsolationLevel][] = [
  [/^isolation\s+level\s+serializable\b/i, 'serializable'],
  [/^isolation\s+level\s+repeatable\s+read\b/i, 'repeatable read'],
  [/^isolation\s+level\s+read\s+committed\b/i, 'read committed'],
  // PostgreSQL runs READ UNCOMMITTED as READ COMMITTED.
  [/^isolation\s+level\s+read\s+uncommitted\b/i, 'read committed'],
]

/** BEGIN/START TRANSACTION/SET TRANSACTION modes -> withTenant options; anything else is refused. */
function parseModes(text: string, options: { isolationLevel?: IsolationLevel; readOnly?: boolean }): void {
  let rest = text.trim()
  while (rest !== '') {
    rest = rest.replace(/^,\s*/, '')
    const isolation = isolationModes.find(([pattern]) => pattern.test(rest))
    if (isolation) {
      options.isolationLevel = isolation[1]
      rest = rest.replace(isolation[0], '').trim()
    } else if (/^read\s+only\b/i.test(rest)) {
      options.readOnly = true
      rest = rest.replace(/^read\s+only\b/i, '').trim()
    } else if (/^read\s+write\b/i.test(rest)) {
      options.readOnly = false
      rest = rest.replace(/^read\s+write\b/i, '').trim()
    } else {
      throw new RowfenceError('ROWFENCE_TRANSACTION_CONTROL', {
        message: 'This transaction mode is not supported in a tenant transaction',
      })
    }
  }
}

/**
 * A node-postgres Pool look-alike (a real `pg.Pool` subclass, so ORMs that check `instanceof Pool` accept
 * it) whose every query runs in the current tenant context. Inside withTenant() on the wrapped pool, all
 * queries and "connections" share that transaction and an ORM's BEGIN/COMMIT/ROLLBACK become savepoints.
 * Inside asTenant(), a statement outside an ORM transaction takes one round trip (queryAsTenant) and an
 * ORM transaction becomes a tenant transaction of its own. Anywhere else a query fails with
 * ROWFENCE_NO_TENANT_CONTEXT. No connection of this object's own base pool is ever opened.
 */
export class TenantPool extends pg.Pool {
  readonly #pool: pg.Pool
  readonly #contextConfig: TenantContextConfig | undefined
  readonly #contextMode: ContextMode
  readonly #pooler: boolean

  constructor(pool: pg.Pool, options: TenantPoolOptions = {}) {
    super({ ...pool.options, max: 0 })
    this.#pool = pool
    this.#contextConfig = options.contextConfig
    this.#contextMode = contextModeOf(options)
    this.#pooler = options.pooler === true
  }

  /** The wrapped pool. */
  get pool(): pg.Pool {
    return this.#pool
  }

  /** @internal */
  get contextConfig(): TenantContextConfig | undefined {
    return this.#contextConfig
  }

  /** @internal */
  get contextMode(): ContextMode {
    return this.#contextMode
  }

  /** Runs `fn` in one tenant transaction on the wrapped pool (see withTenant). */
  withTenant<T>(
    context: TenantContext,
    fn: (tx: TenantTransaction) => T | PromiseLike<T>,
    options: WithTenantOptions = {},
  ): Promise<T> {
    return withTenant(this.#pool, context, async (tx) => await fn(tx), {
      contextConfig: this.#contextConfig,
      contextMode: this.#contextMode,
      pooler: this.#pooler,
      ...options,
    })
  }

  /** @internal The open withTenant() transaction on the wrapped pool, if the caller is inside one. */
  transaction(): TenantTransaction | undefined {
    const tx = currentTransaction()
    return tx && !tx.ended && poolOf(tx) === this.#pool ? tx : undefined
  }

  /** @internal One statement in the current scope (one round trip); control statements are refused. */
  queryInScope(config: TenantQueryConfig, values: readonly unknown[] | undefined): Promise<QueryResult> {
    const context = scope.getStore()
    if (!context) return Promise.reject(new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT'))
    if (classifyTransactionControl(config.text)) {
      return Promise.reject(
        new RowfenceError('ROWFENCE_TRANSACTION_CONTROL', {
          message: 'Transaction control must go through a connection (pool.connect()), not pool.query()',
        }),
      )
    }
    return queryAsTenant(this.#pool, context, autoNamed(config, values), values, {
      contextConfig: this.#contextConfig,
      contextMode: this.#contextMode,
      pooler: this.#pooler,
    })
  }

  override end(): Promise<void> {
    return this.#pool.end()
  }
}

// query() and connect() are installed on the prototype so that TenantPool keeps node-postgres' own
// overloaded signatures in its type declarations (a consumer type-checks them with skipLibCheck off).
// They accept what those accept: text or a config, values, a callback or a promise.
TenantPool.prototype.query = function query(
  this: TenantPool,
  query: unknown,
  values?: unknown,
  callback?: unknown,
): unknown {
  const [args, done] = splitArguments(values, callback)
  const tx = this.transaction()
  if (tx) return tx.client.query(query, args, done)
  return withCallback(this.queryInScope(toConfig(query), args), done)
} as pg.Pool['query']

TenantPool.prototype.connect = function connect(
  this: TenantPool,
  callback?: (error: Error | undefined, client?: TenantPoolClient, done?: () => void) => void,
): Promise<TenantPoolClient> | undefined {
  const client = new TenantPoolClient(this)
  if (callback) {
    callback(undefined, client, () => client.release())
    return undefined
  }
  return Promise.resolve(client)
} as pg.Pool['connect']

interface OwnTransaction {
  readonly context: TenantContext
  readonly options: { isolationLevel?: IsolationLevel; readOnly?: boolean }
  /** Started by the first statement after BEGIN. */
  tx?: Promise<TenantTransaction>
  end?: { commit(): void; rollback(): void }
  done?: Promise<void>
}

const rolledBack = Symbol('rowfence.rolledBack')

/**
 * What TenantPool.connect() hands out: a client-like object that owns no connection. Inside withTenant()
 * it forwards to that transaction; inside asTenant() its BEGIN opens a tenant transaction (one pooled
 * connection, lazily, with the context pipelined) that its COMMIT/ROLLBACK ends.
 */
export class TenantPoolClient {
  readonly #owner: TenantPool
  #own: OwnTransaction | undefined
  /** An implicit transaction opened for a cursor outside an ORM transaction; committed on release. */
  #implicit = false

  constructor(owner: TenantPool) {
    this.#owner = owner
  }

  query(query: unknown, values?: unknown, callback?: unknown): unknown {
    if (isSubmittable(query)) return this.#submit(query)
    const [args, done] = splitArguments(values, callback)
    const outer = this.#own ? undefined : this.#owner.transaction()
    if (outer) return outer.client.query(query, args, done)
    return withCallback(this.#query(toConfig(query), args), done)
  }

  async #query(config: TenantQueryConfig, values: readonly unknown[] | undefined): Promise<QueryResult> {
    const control = classifyTransactionControl(config.text)
    const own = this.#own
    if (!own) {
      if (control?.kind === 'begin') {
        const context = scope.getStore()
        if (!context) throw new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT')
        const options = {}
        parseModes(control.modes, options)
        this.#own = { context, options }
        return { command: 'BEGIN', rowCount: null, rows: [], fields: [], oid: 0 }
      }
      if (control) {
        throw new RowfenceError('ROWFENCE_TRANSACTION_CONTROL', {
          message: `${config.text.trim().split(/\s/)[0]?.toUpperCase()} without a transaction`,
        })
      }
      return this.#owner.queryInScope(config, values)
    }
    if (!own.tx) {
      if (control?.kind === 'set-transaction') {
        parseModes(control.modes, own.options)
        return { command: 'SET', rowCount: null, rows: [], fields: [], oid: 0 }
      }
      if (control?.kind === 'commit' || control?.kind === 'rollback') {
        this.#own = undefined
        return { command: control.kind.toUpperCase(), rowCount: null, rows: [], fields: [], oid: 0 }
      }
      this.#start(own)
    }
    if (control?.kind === 'commit' || control?.kind === 'rollback') {
      await this.#finish(control.kind)
      return { command: control.kind.toUpperCase(), rowCount: null, rows: [], fields: [], oid: 0 }
    }
    const tx = await own.tx!
    return tx.query(autoNamed(config, values), values)
  }

  #start(own: OwnTransaction): Promise<TenantTransaction> {
    own.tx = new Promise<TenantTransaction>((resolve, reject) => {
      own.done = this.#owner
        .withTenant(
          own.context,
          (tx) =>
            new Promise<void>((commit, rollback) => {
              own.end = { commit: () => commit(), rollback: () => rollback(rolledBack) }
              resolve(tx)
            }),
          own.options,
        )
        .catch((error: unknown) => {
          reject(error)
          if (error !== rolledBack) throw error
        })
    })
    own.tx.catch(() => undefined)
    return own.tx
  }

  async #finish(kind: 'commit' | 'rollback'): Promise<void> {
    const own = this.#own
    this.#own = undefined
    this.#implicit = false
    if (!own?.tx) return
    try {
      await own.tx
    } catch {
      // withTenant never got to run the callback (no connection); its error was reported already.
      return
    }
    if (kind === 'commit') own.end?.commit()
    else own.end?.rollback()
    await own.done
  }

  #submit<S>(submittable: S): S {
    const outer = this.#own ? undefined : this.#owner.transaction()
    if (outer) return outer.submit(submittable)
    if (!this.#own) {
      const context = scope.getStore()
      if (!context) throw new RowfenceError('ROWFENCE_NO_TENANT_CONTEXT')
      this.#own = { context, options: {} }
      this.#implicit = true
    }
    const own = this.#own
    const tx = own.tx ?? this.#start(own)
    tx.then(
      (open) => open.submit(submittable),
      (error: unknown) =>
        (submittable as { handleError?(error: unknown): void }).handleError?.(
          error instanceof Error ? error : new Error(String(error)),
        ),
    )
    return submittable
  }

  /** Ends a transaction left open: an implicit one (a cursor's) commits, an ORM's rolls back. */
  release(): void {
    if (this.#own) void this.#finish(this.#implicit ? 'commit' : 'rollback').catch(() => undefined)
  }

  on(): this {
    return this
  }

  off(): this {
    return this
  }

  removeListener(): this {
    return this
  }
}
