import { AsyncLocalStorage } from 'node:async_hooks'
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
import { RowfenceError } from '../errors.ts'
import { PipelinedBatch, type BatchStatement } from './pipelined-batch.ts'
import { normalizeContext, TENANT_SETTING, USER_SETTING, type TenantContext } from './tenant-context.ts'

/** A query as text plus values, or a config object; `name` makes it a prepared statement. */
export interface TenantQueryConfig {
  readonly text: string
  readonly values?: readonly unknown[] | undefined
  readonly name?: string | undefined
  readonly rowMode?: 'array' | undefined
}

export interface TenantQueryable {
  query<R extends QueryResultRow = QueryResultRow>(
    query: string | TenantQueryConfig,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>>
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

export interface WithTenantOptions {
  readonly isolationLevel?: IsolationLevel | undefined
  readonly readOnly?: boolean | undefined
}

/** Sets both settings transaction-locally; values are bind parameters, never SQL text. */
const setContextStatement = {
  name: 'rowfence_set_context',
  text: `SELECT set_config('${TENANT_SETTING}', $1, true), set_config('${USER_SETTING}', $2, true)`,
} as const

const isolationLevels: Record<IsolationLevel, string> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
}

function beginStatement(options: WithTenantOptions): string {
  let text = 'BEGIN'
  if (options.isolationLevel !== undefined) {
    const level = isolationLevels[options.isolationLevel]
    if (!level) throw new TypeError(`Unknown isolation level: ${String(options.isolationLevel)}`)
    text += ` ISOLATION LEVEL ${level}`
  }
  if (options.readOnly) text += ' READ ONLY'
  return text
}

function toStatement(query: string | TenantQueryConfig, values?: readonly unknown[]): BatchStatement {
  if (typeof query === 'string') return { text: query, values }
  return { text: query.text, values: values ?? query.values, name: query.name, rowMode: query.rowMode }
}

const activeTransaction = new AsyncLocalStorage<TenantTransaction>()

/**
 * One tenant's unit of work on one pooled connection. Nothing is sent until the first query; that query
 * goes out in one write together with BEGIN and the transaction-local context, so a one-query unit of
 * work costs one round trip plus the COMMIT.
 */
export class TenantTransaction implements TenantQueryable {
  readonly context: { readonly tenantId: string; readonly userId: string | null }
  readonly #client: PoolClient
  readonly #settings: { tenantId: string; userId: string }
  readonly #begin: string
  #state: 'pending' | 'open' | 'closed' = 'pending'
  #savepoints = 0

  constructor(client: PoolClient, settings: { tenantId: string; userId: string }, begin: string) {
    this.#client = client
    this.#settings = settings
    this.#begin = begin
    this.context = Object.freeze({ tenantId: settings.tenantId, userId: settings.userId || null })
  }

  /** Whether anything has been sent (BEGIN went out with the first query). */
  get started(): boolean {
    return this.#state !== 'pending'
  }

  async query<R extends QueryResultRow = QueryResultRow>(
    query: string | TenantQueryConfig,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    if (this.#state === 'closed') throw new RowfenceError('ROWFENCE_CONTEXT_CLOSED')
    const statement = toStatement(query, values)
    if (this.#state === 'pending') {
      this.#state = 'open'
      const results = await PipelinedBatch.run(this.#client, [
        { text: this.#begin },
        { ...setContextStatement, values: [this.#settings.tenantId, this.#settings.userId] },
        statement,
      ])
      return results[2] as QueryResult<R>
    }
    return this.#client.query<R>({
      text: statement.text,
      values: statement.values as unknown[] | undefined,
      name: statement.name,
      ...(statement.rowMode ? { rowMode: statement.rowMode } : {}),
    } as never)
  }

  /** Runs `fn` inside a savepoint: its writes are undone if it throws, the outer transaction goes on. */
  async transaction<T>(fn: (tx: TenantTransaction) => Promise<T>): Promise<T> {
    if (this.#state === 'closed') throw new RowfenceError('ROWFENCE_CONTEXT_CLOSED')
    const savepoint = `rowfence_savepoint_${++this.#savepoints}`
    try {
      await this.query(`SAVEPOINT ${savepoint}`)
      let result: T
      try {
        result = await fn(this)
      } catch (error) {
        await this.query(`ROLLBACK TO SAVEPOINT ${savepoint}`)
        throw error
      }
      await this.query(`RELEASE SAVEPOINT ${savepoint}`)
      return result
    } finally {
      this.#savepoints -= 1
    }
  }

  /** @internal Ends the transaction; later queries fail with ROWFENCE_CONTEXT_CLOSED. */
  async end(command: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const wasOpen = this.#state === 'open'
    this.#state = 'closed'
    if (wasOpen) await this.#client.query(command)
  }
}

/**
 * Runs `fn` as the given tenant (and user) in one transaction on one pooled connection. The context is
 * validated before anything is sent, set with `set_config(..., true)` so it ends with the transaction,
 * and the connection goes back to the pool with no tenant state on it. On error the transaction is rolled
 * back and the original error rethrown.
 */
export async function withTenant<T>(
  pool: Pool,
  context: TenantContext,
  fn: (tx: TenantTransaction) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  const settings = normalizeContext(context)
  const begin = beginStatement(options)
  const client = await pool.connect()
  const tx = new TenantTransaction(client, settings, begin)
  let broken: Error | undefined
  try {
    const result = await activeTransaction.run(tx, () => fn(tx))
    await tx.end('COMMIT')
    return result
  } catch (error) {
    try {
      await tx.end('ROLLBACK')
    } catch (rollbackError) {
      // The connection cannot be trusted any more; destroy it instead of returning it to the pool.
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
    }
    throw error
  } finally {
    client.release(broken)
  }
}

/**
 * The fast path for a unit of work that is one statement: the context and the statement are sent with a
 * single Sync, so PostgreSQL runs both in one implicit transaction. One round trip, no BEGIN/COMMIT; the
 * setting is gone as soon as the statement finishes.
 */
export async function queryAsTenant<R extends QueryResultRow = QueryResultRow>(
  pool: Pool,
  context: TenantContext,
  query: string | TenantQueryConfig,
  values?: readonly unknown[],
): Promise<QueryResult<R>> {
  const settings = normalizeContext(context)
  const statement = toStatement(query, values)
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    const results = await PipelinedBatch.run(client, [
      { ...setContextStatement, values: [settings.tenantId, settings.userId] },
      statement,
    ])
    return results[1] as QueryResult<R>
  } catch (error) {
    // A server error leaves the connection usable (the Sync ended the implicit transaction); anything
    // else (socket loss, protocol trouble) does not.
    if (!(error instanceof Error && 'severity' in error)) broken = error as Error
    throw error
  } finally {
    client.release(broken)
  }
}

/** The transaction of the innermost enclosing withTenant() callback, if any. */
export function currentTransaction(): TenantTransaction | undefined {
  return activeTransaction.getStore()
}
