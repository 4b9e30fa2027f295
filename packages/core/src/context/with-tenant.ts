import { AsyncLocalStorage } from 'node:async_hooks'
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
import { RowfenceError } from '../errors.ts'
import {
  contextConfigFor,
  normalizeContextWith,
  type NormalizedContext,
  type PlanCacheMode,
  type TenantContextConfig,
} from './context-config.ts'
import {
  contextModeOf,
  contextStatements,
  singleStatementBatch,
  type ContextMode,
  type ContextModeOptions,
} from './context-statements.ts'
import { enterNested, rememberPool } from './nested.ts'
import { planAdvisor, type PlanAdvice } from './plan-advisor.ts'
import { checkOut, connectionError, isServerError, mayWrite, type CheckedOutClient } from './connection.ts'
import { PipelinedBatch, type BatchStatement } from './pipelined-batch.ts'
import type { TenantContext } from './tenant-context.ts'
import { createTenantClient, type TenantClient } from './tenant-client.ts'
import { classifyTransactionControl } from './transaction-control.ts'

/** A query as text plus values, or a config object; `name` makes it a prepared statement. */
export interface TenantQueryConfig {
  readonly text: string
  readonly values?: readonly unknown[] | undefined
  readonly name?: string | undefined
  readonly rowMode?: 'array' | undefined
  /** Per-query type parsers (node-postgres `types`), as ORMs pass them. */
  readonly types?: unknown
  /**
   * queryAsTenant only: plan this (named) statement once per connection and reuse the plan, by setting
   * `plan_cache_mode = force_generic_plan` transaction-locally in the same round trip. PostgreSQL otherwise
   * re-plans a query with RLS on every execution whenever it estimates the generic plan costlier (LIMIT $n
   * and optional filters do that), and planning the policies is then most of the isolation's cost. Use it
   * for hot statements whose best plan does not depend on the parameter values; it ends with the statement.
   */
  readonly genericPlan?: boolean | undefined
  /** @internal Named by rowfence, not by the caller (see autoNamed). */
  readonly autoPrepare?: boolean | undefined
}

export interface TenantQueryable {
  query<R extends QueryResultRow = QueryResultRow>(
    query: string | TenantQueryConfig,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>>
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

export interface WithTenantOptions extends ContextModeOptions {
  readonly isolationLevel?: IsolationLevel | undefined
  readonly readOnly?: boolean | undefined
  /** Reuse cached generic plans for the named statements of this transaction (see TenantQueryConfig.genericPlan). */
  readonly genericPlans?: boolean | undefined
  /** Id types, setting names and claims of the context (see defineContextConfig); uuid ids by default. */
  readonly contextConfig?: TenantContextConfig | undefined
  /** Send only unnamed statements, for transaction-mode poolers that do not keep prepared statements (see PoolerOptions). */
  readonly pooler?: boolean | undefined
}

export interface PoolerOptions {
  /**
   * Pooler mode: every statement is sent unnamed (Parse/Bind/Execute with the empty name), so nothing
   * outlives the transaction on the server connection. Needed behind transaction-mode poolers that do not
   * track named prepared statements (PgBouncer < 1.21 or `max_prepared_statements = 0`, RDS Proxy,
   * Supavisor). Context and query still go out in one Sync group. `genericPlan` is ignored: an unnamed
   * statement is planned on every execution anyway, so a forced generic plan cannot be reused.
   */
  readonly pooler?: boolean | undefined
}

/** Options of queryAsTenant. */
export interface QueryAsTenantOptions extends PoolerOptions, ContextModeOptions {
  readonly contextConfig?: TenantContextConfig | undefined
}

/** Pooler mode: the same statement, unnamed (parsed in the same Sync group it runs in). */
function forPooler<S extends { name?: string | undefined }>(statement: S, pooler: boolean): S {
  return pooler && statement.name !== undefined ? { ...statement, name: undefined } : statement
}

const isolationLevels: Record<IsolationLevel, string> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
}

/** @internal The BEGIN statement for these options. */
export function beginStatement(options: WithTenantOptions): string {
  let text = 'BEGIN'
  if (options.isolationLevel !== undefined) {
    const level = isolationLevels[options.isolationLevel]
    if (!level) throw new TypeError(`Unknown isolation level: ${String(options.isolationLevel)}`)
    text += ` ISOLATION LEVEL ${level}`
  }
  if (options.readOnly) text += ' READ ONLY'
  return text
}

function toStatement(
  query: string | TenantQueryConfig,
  values?: readonly unknown[],
): BatchStatement & { genericPlan?: boolean | undefined } {
  if (typeof query === 'string') return { text: query, values }
  // The whole config goes on (types, rowMode, ...): ORMs rely on their own type parsers. `values` is
  // declared before the spread and set after it: `{ ...query, values }` for a config without `values`
  // takes a slow path in V8 (Node 20) of about 1 µs per call.
  const statement = { values: undefined as readonly unknown[] | undefined, ...query }
  statement.values = values ?? query.values
  return statement
}

const activeTransaction = new AsyncLocalStorage<TenantTransaction>()

/** Sets plan_cache_mode for the statements that follow in the transaction, returning the mode before. */
const capturePlanModeStatement = {
  name: 'rowfence_plan_mode_capture',
  text: `SELECT current_setting('plan_cache_mode') AS previous, set_config('plan_cache_mode', $1, true)`,
} as const
const setPlanModeStatement = {
  name: 'rowfence_plan_mode',
  text: `SELECT set_config('plan_cache_mode', $1, true)`,
} as const

/** One of the two statements above with its value (spelled out: a spread adding `values` is slow in V8). */
function planModeStatement(
  statement: typeof capturePlanModeStatement | typeof setPlanModeStatement,
  value: string,
): BatchStatement {
  return { name: statement.name, text: statement.text, values: [value] }
}

/** A checked-out connection, or a function that checks one out when the first statement needs it. */
export type ConnectionSource = PoolClient | (() => Promise<PoolClient>)

/**
 * One tenant's unit of work on one pooled connection. Nothing is sent until the first query; that query
 * goes out in one write together with BEGIN and the transaction-local context, so a one-query unit of
 * work costs one round trip plus the COMMIT.
 */
export class TenantTransaction implements TenantQueryable {
  readonly context: { readonly tenantId: string; readonly userId: string | null }
  /** The connection; a lazy transaction gets it when its first statement is sent. */
  #client: PoolClient | undefined
  readonly #connect: (() => Promise<PoolClient>) | undefined
  /** A lazy transaction: settles once the connection is there and BEGIN + context are queued on it. */
  #ready: Promise<PoolClient> | undefined
  readonly #settings: NormalizedContext
  readonly #begin: string
  readonly #genericPlans: boolean
  readonly #pooler: boolean
  readonly #mode: ContextMode
  #state: 'pending' | 'open' | 'closed' = 'pending'
  #savepoints = 0
  /** Savepoints standing in for the BEGINs an ORM sent through this transaction. */
  #nested: string[] = []
  #client_: TenantClient | undefined
  /** A failed pipelined start (see submit); reported by the next query. */
  #startError: unknown
  /** Whether the plan advisor may decide per statement: no `genericPlans` option on the transaction. */
  readonly #advised: boolean
  /** plan_cache_mode on the server as far as this transaction knows ('unknown' after a savepoint rollback). */
  #planMode: PlanCacheMode | 'default' | 'unknown'
  /** plan_cache_mode before this transaction first switched it. */
  #previousPlanMode: string | undefined
  /** A plan sample the advisor asked for, taken after COMMIT on this connection. */
  #sample: { statement: BatchStatement; advice: PlanAdvice } | undefined

  constructor(
    source: ConnectionSource,
    settings: NormalizedContext,
    options: {
      begin: string
      genericPlans?: boolean | undefined
      pooler?: boolean | undefined
      contextMode?: ContextMode | undefined
    },
  ) {
    if (typeof source === 'function') this.#connect = source
    else this.#client = source
    this.#settings = settings
    this.#begin = options.begin
    this.#genericPlans = options.genericPlans === true
    this.#pooler = options.pooler === true
    this.#mode = contextModeOf(options)
    this.#advised = options.genericPlans === undefined
    this.#planMode = this.#genericPlans ? 'generic' : 'default'
    this.context = Object.freeze({ tenantId: settings.tenantId, userId: settings.userId || null })
  }

  /** Whether anything has been sent (BEGIN went out with the first query). */
  get started(): boolean {
    return this.#state !== 'pending'
  }

  /** Whether the transaction has ended (COMMIT or ROLLBACK); later queries fail. */
  get ended(): boolean {
    return this.#state === 'closed'
  }

  /** @internal The settings this transaction was opened with (nested withTenant compares them). */
  get settings(): NormalizedContext {
    return this.#settings
  }

  /**
   * A node-postgres-like client bound to this transaction, for ORMs and for cursors/COPY: `query()` takes
   * configs, callbacks and submittables (pg-cursor, pg-query-stream, pg-copy-streams); `release()` does
   * nothing. BEGIN/COMMIT/ROLLBACK sent through it become savepoints.
   */
  get client(): TenantClient {
    this.#client_ ??= createTenantClient(this)
    return this.#client_
  }

  /**
   * @internal Hands a node-postgres submittable (a cursor, a COPY stream) to the connection, after BEGIN
   * and the context if they have not gone out yet. Synchronous like `client.query(submittable)`: node-postgres
   * queues both in order.
   */
  submit<S>(submittable: S): S {
    if (this.#state === 'closed') throw new RowfenceError('ROWFENCE_CONTEXT_CLOSED')
    if (this.#state === 'pending') {
      this.#open([]).catch((error: unknown) => {
        this.#startError = error
      })
    }
    const submitTo = (client: PoolClient): S => (client as unknown as { query(s: S): S }).query(submittable)
    if (this.#client) return submitTo(this.#client)
    // A lazy transaction still connecting: the submittable follows BEGIN once the connection is there.
    this.#ready!.then(submitTo, (error: unknown) =>
      (submittable as { handleError?(error: unknown): void }).handleError?.(
        error instanceof Error ? error : new Error(String(error)),
      ),
    )
    return submittable
  }

  /**
   * Starts the transaction: BEGIN, the context and `statements` in one write. A lazy transaction checks its
   * connection out first; statements sent meanwhile wait for #ready and so queue behind BEGIN.
   */
  #open(statements: BatchStatement[]): Promise<QueryResult[]> {
    this.#state = 'open'
    const batch = [...this.#opening(), ...statements]
    if (this.#client) return PipelinedBatch.run(this.#client, batch)
    let sent: Promise<QueryResult[]> | undefined
    this.#ready = this.#connect!().then((client) => {
      this.#client = client
      sent = PipelinedBatch.run(client, batch)
      return client
    })
    this.#ready.catch(() => undefined)
    return this.#ready.then(() => sent!)
  }

  /** The connection, once a lazy transaction has it (after BEGIN was queued). */
  #connection(): PoolClient | Promise<PoolClient> {
    return this.#client ?? this.#ready!
  }

  /** BEGIN and the context statements, sent in one write with the first query (or submittable). */
  #opening(): BatchStatement[] {
    return [
      { text: this.#begin },
      ...contextStatements(this.#settings, {
        mode: this.#mode,
        pooler: this.#pooler,
        genericPlan: this.#genericPlans,
      }),
    ]
  }

  async #control(text: string): Promise<QueryResult | undefined> {
    const control = classifyTransactionControl(text)
    if (!control) return undefined
    if (control.kind === 'begin') {
      if (control.modes !== '') {
        throw new RowfenceError('ROWFENCE_TRANSACTION_CONTROL', {
          message:
            'A nested transaction inside a tenant transaction is a savepoint and cannot set its own isolation level or access mode',
        })
      }
      const name = `rowfence_nested_${this.#nested.length + 1}`
      this.#nested.push(name)
      const result = await this.query(`SAVEPOINT ${name}`)
      return Object.assign(result, { command: 'BEGIN' })
    }
    if (control.kind === 'commit' || control.kind === 'rollback') {
      const name = this.#nested.pop()
      if (name === undefined) {
        throw new RowfenceError('ROWFENCE_TRANSACTION_CONTROL', {
          message: `A ${control.kind.toUpperCase()} without a matching BEGIN would end the tenant transaction early; the withTenant() callback ends it`,
        })
      }
      // Rolling back to a savepoint also undoes a plan_cache_mode switch made after it.
      if (control.kind === 'rollback' && this.#planMode !== 'default') this.#planMode = 'unknown'
      const result =
        control.kind === 'commit'
          ? await this.query(`RELEASE SAVEPOINT ${name}`)
          : await this.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`)
      return Object.assign(Array.isArray(result) ? (result.at(-1) as QueryResult) : result, {
        command: control.kind === 'commit' ? 'COMMIT' : 'ROLLBACK',
      })
    }
    if (control.kind === 'set-transaction') return undefined
    throw new RowfenceError('ROWFENCE_TRANSACTION_CONTROL')
  }

  async query<R extends QueryResultRow = QueryResultRow>(
    query: string | TenantQueryConfig,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    if (this.#state === 'closed') throw new RowfenceError('ROWFENCE_CONTEXT_CLOSED')
    if (this.#startError !== undefined) throw this.#startError
    const statement = forPooler(toStatement(query, values), this.#pooler)
    const controlled = await this.#control(statement.text)
    if (controlled) return controlled as QueryResult<R>
    const advice = this.#advise(statement)
    // plan_cache_mode only matters to statements with parameters (PostgreSQL caches the others anyway).
    const planSwitch = statement.values?.length
      ? this.#planSwitch(planTarget(statement.genericPlan, advice))
      : undefined
    const statements = planSwitch ? [planSwitch, statement] : [statement]
    if (this.#state === 'pending') {
      const results = await this.#open(statements)
      this.#switched(planSwitch, results.at(-2))
      return results.at(-1) as QueryResult<R>
    }
    const client = this.#client ?? (await this.#ready!)
    if (planSwitch || statement.autoPrepare) {
      const results = await PipelinedBatch.run(client, statements)
      this.#switched(planSwitch, results.at(-2))
      return results.at(-1) as QueryResult<R>
    }
    // A rest copy, not a spread and `delete`: deleting turns the object into a slow dictionary-mode one.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the two keys are left out on purpose
    const { genericPlan: _genericPlan, autoPrepare: _autoPrepare, ...config } = statement
    return client.query<R>(config as never)
  }

  /** The advisor's say on a named statement of this transaction; one sample per transaction at most. */
  #advise(statement: BatchStatement & { genericPlan?: boolean | undefined }): PlanAdvice | undefined {
    if (!this.#advised || !advisable(statement, this.#pooler, this.#mode)) return undefined
    const advice = planAdvisor.advise(statement)
    if (advice?.sample) {
      if (this.#sample) planAdvisor.skip(advice)
      else this.#sample = { statement, advice }
    }
    return advice
  }

  /**
   * The statement that puts plan_cache_mode where `generic` needs it, sent in the same write as the
   * statement, or undefined when it is there already. Only the advisor switches back and forth; with
   * `genericPlans: true` the whole transaction runs generic (set with the context).
   */
  #planSwitch(target: PlanCacheMode | 'default'): BatchStatement | undefined {
    if (this.#genericPlans || target === this.#planMode) return undefined
    if (target === 'default') {
      if (this.#previousPlanMode === undefined) return undefined
      this.#planMode = 'default'
      return planModeStatement(setPlanModeStatement, this.#previousPlanMode)
    }
    this.#planMode = target
    return planModeStatement(
      this.#previousPlanMode === undefined ? capturePlanModeStatement : setPlanModeStatement,
      `force_${target}_plan`,
    )
  }

  #switched(planSwitch: BatchStatement | undefined, result: QueryResult | undefined): void {
    if (planSwitch?.name !== capturePlanModeStatement.name) return
    const previous = (result?.rows[0] as { previous?: unknown } | undefined)?.previous
    if (typeof previous === 'string') this.#previousPlanMode = previous
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
        if (this.#planMode !== 'default') this.#planMode = 'unknown'
        await this.query(`ROLLBACK TO SAVEPOINT ${savepoint}`)
        throw error
      }
      await this.query(`RELEASE SAVEPOINT ${savepoint}`)
      return result
    } finally {
      this.#savepoints -= 1
    }
  }

  /** @internal The connection failed: nothing more is sent; later queries fail with ROWFENCE_CONTEXT_CLOSED. */
  abandon(): void {
    this.#state = 'closed'
    this.#dropSample()
  }

  #dropSample(): void {
    if (this.#sample) planAdvisor.skip(this.#sample.advice)
    this.#sample = undefined
  }

  /** @internal Ends the transaction; later queries fail with ROWFENCE_CONTEXT_CLOSED. */
  async end(command: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const wasOpen = this.#state === 'open'
    this.#state = 'closed'
    const sample = this.#sample
    if (!wasOpen || command === 'ROLLBACK') this.#dropSample()
    if (!wasOpen) return
    let result: QueryResult
    try {
      result = await (await this.#connection()).query(command)
    } catch (error) {
      this.#dropSample()
      throw error
    }
    // PostgreSQL answers COMMIT of a transaction in which a statement failed (one the caller caught) with
    // ROLLBACK and no error: report it, never a silent success.
    if (command === 'COMMIT' && result.command === 'ROLLBACK') {
      this.#dropSample()
      throw new RowfenceError('ROWFENCE_TRANSACTION_ABORTED')
    }
    if (command === 'COMMIT' && sample) {
      this.#sample = undefined
      // Between units of work, on the same connection and context, in a Sync group of its own.
      const context = contextStatements(this.#settings, {
        mode: this.#mode,
        pooler: false,
        genericPlan: false,
      })
      await planAdvisor.sample(this.#client!, sample.statement, context, sample.advice)
    }
  }
}

/**
 * Runs `fn` as the given tenant (and user) in one transaction on one pooled connection. The context is
 * validated before anything is sent, set with `set_config(..., true)` (or `SET LOCAL` in the set-local
 * mode, for Citus) so it ends with the transaction, and the connection goes back to the pool with no tenant state on it. On error the transaction is rolled
 * back and the original error rethrown.
 */
export async function withTenant<T>(
  pool: Pool,
  context: TenantContext,
  fn: (tx: TenantTransaction) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  const settings = normalizeContextWith(context, contextConfigFor(pool, options.contextConfig))
  const begin = beginStatement(options)
  // Inside a transaction of the same pool: the same tenant reuses it, another tenant is refused.
  const outer = enterNested(pool, activeTransaction.getStore(), settings)
  if (outer) return activeTransaction.run(outer, async () => await fn(outer))
  const connection = await checkOut(pool)
  const tx = new TenantTransaction(connection.client, settings, {
    begin,
    genericPlans: options.genericPlans,
    pooler: options.pooler,
    contextMode: contextModeOf(options),
  })
  rememberPool(tx, pool)
  let result: T
  try {
    // Awaited inside the scope: a lazy thenable returned by the callback (an ORM query) runs in the context.
    result = await activeTransaction.run(tx, async () => await fn(tx))
  } catch (error) {
    throw await rollbackAndRelease(tx, connection, error)
  }
  await commitAndRelease(tx, connection, options.readOnly === true)
  return result
}

/**
 * @internal Ends a tenant transaction whose work failed: ROLLBACK (nothing is sent on a connection that
 * failed; the server rolled back by itself), then the connection goes back to the pool, or is destroyed
 * if it cannot be trusted. Returns the error to rethrow: `error`, or a catalogue 503 for a lost connection.
 */
export async function rollbackAndRelease(
  tx: TenantTransaction,
  connection: CheckedOutClient,
  error: unknown,
): Promise<unknown> {
  const failure = connectionError(connection, error, 'ROWFENCE_DATABASE_UNAVAILABLE')
  try {
    if (connection.failure) tx.abandon()
    else await tx.end('ROLLBACK')
  } catch (rollbackError) {
    // The connection cannot be trusted any more; destroy it instead of returning it to the pool.
    connection.fail(rollbackError)
  }
  connection.release()
  return failure
}

/**
 * @internal Commits a tenant transaction and releases its connection. Rejects with a catalogue error when
 * the connection failed before COMMIT (ROWFENCE_DATABASE_UNAVAILABLE: the server rolled back) or during it
 * (ROWFENCE_COMMIT_UNKNOWN, or UNAVAILABLE for a read-only transaction), and with the server's error when
 * COMMIT itself failed on a healthy connection (a deferred constraint, a serialization failure).
 */
export async function commitAndRelease(
  tx: TenantTransaction,
  connection: CheckedOutClient,
  readOnly: boolean,
): Promise<void> {
  if (connection.failure) {
    tx.abandon()
    connection.release()
    throw new RowfenceError('ROWFENCE_DATABASE_UNAVAILABLE', { cause: connection.failure })
  }
  try {
    await tx.end('COMMIT')
  } catch (error) {
    // A COMMIT that failed on a healthy connection (serialization failure, deferred constraint) rolled
    // back; one whose connection failed may or may not have been applied (a read-only one changed nothing).
    throw connectionError(
      connection,
      error,
      readOnly ? 'ROWFENCE_DATABASE_UNAVAILABLE' : 'ROWFENCE_COMMIT_UNKNOWN',
    )
  } finally {
    connection.release()
  }
}

/** @internal Runs `fn` with `tx` as the current transaction (currentTransaction(), TenantPool, ORM adapters). */
export function runInTransaction<T>(tx: TenantTransaction, fn: () => T): T {
  return activeTransaction.run(tx, fn)
}

/** The plan_cache_mode a statement runs with: its own `genericPlan` if it has one, else the advisor's. */
function planTarget(
  genericPlan: boolean | undefined,
  advice: PlanAdvice | undefined,
): PlanCacheMode | 'default' {
  if (genericPlan !== undefined) return genericPlan ? 'generic' : 'default'
  return advice?.plan ?? 'default'
}

/**
 * Whether the plan advisor may decide how `statement` is planned: a named statement with no explicit
 * `genericPlan`, outside pooler mode (unnamed statements are planned on every execution anyway) and
 * outside the set-local mode (Citus plans on the coordinator differently; left to PostgreSQL).
 */
function advisable(
  statement: { name?: string | undefined; genericPlan?: boolean | undefined },
  pooler: boolean,
  mode: ContextMode,
): boolean {
  return (
    statement.name !== undefined && statement.genericPlan === undefined && !pooler && mode === 'set-config'
  )
}

/**
 * The fast path for a unit of work that is one statement: the context and the statement are sent with a
 * single Sync, so PostgreSQL runs both in one implicit transaction. One round trip, no BEGIN/COMMIT; the
 * setting is gone as soon as the statement finishes. In the set-local mode (Citus) the write is BEGIN, the
 * SET LOCALs, the statement and COMMIT: still one round trip.
 */
export async function queryAsTenant<R extends QueryResultRow = QueryResultRow>(
  pool: Pool,
  context: TenantContext,
  query: string | TenantQueryConfig,
  values?: readonly unknown[],
  options: QueryAsTenantOptions = {},
): Promise<QueryResult<R>> {
  const settings = normalizeContextWith(context, contextConfigFor(pool, options.contextConfig))
  const pooler = options.pooler === true
  const mode = contextModeOf(options)
  const statement = forPooler(toStatement(query, values), pooler)
  const advice = advisable(statement, pooler, mode) ? planAdvisor.advise(statement) : undefined
  const batch = singleStatementBatch(settings, statement, {
    mode,
    pooler,
    genericPlan: statement.genericPlan ?? advice?.plan === 'generic',
    customPlan: advice?.plan === 'custom',
  })
  let connection: CheckedOutClient
  try {
    connection = await checkOut(pool)
  } catch (error) {
    if (advice) planAdvisor.skip(advice)
    throw error
  }
  try {
    const results = await PipelinedBatch.run(connection.client, batch.statements)
    if (advice?.sample) {
      const contextOnly = contextStatements(settings, { mode, pooler, genericPlan: false })
      await planAdvisor.sample(connection.client, statement, contextOnly, advice)
    }
    return results[batch.index] as QueryResult<R>
  } catch (error) {
    if (advice) planAdvisor.skip(advice)
    // A server error leaves the connection usable: the Sync ended the implicit transaction, or, for a
    // batch that opened a transaction block, the ROLLBACK below ends the failed block. Anything else
    // (socket loss, protocol trouble) does not. A lost write in flight may have committed.
    if (batch.transactionBlock && !connection.failure && isServerError(error)) {
      await connection.client
        .query('ROLLBACK')
        .catch((rollbackError: unknown) => connection.fail(rollbackError))
    }
    throw connectionError(
      connection,
      error,
      mayWrite(statement.text) ? 'ROWFENCE_COMMIT_UNKNOWN' : 'ROWFENCE_DATABASE_UNAVAILABLE',
      { destroyOnOther: true },
    )
  } finally {
    connection.release()
  }
}

/** The transaction of the innermost enclosing withTenant() callback, if any. */
export function currentTransaction(): TenantTransaction | undefined {
  return activeTransaction.getStore()
}
