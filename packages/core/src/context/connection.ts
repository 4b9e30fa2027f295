import type { Pool, PoolClient } from 'pg'
import { isConnectionFailure, isPoolTimeout, isRowfenceError, RowfenceError } from '../errors.ts'

/** The CheckedOutClient each client currently out belongs to, for the one shared 'error' listener. */
const checkedOut = new WeakMap<PoolClient, CheckedOutClient>()

/**
 * The 'error' listener of every checked-out client (node-postgres calls it with the client as `this`).
 * One function for all: a listener closure per checkout is an allocation on every unit of work.
 */
function recordFailure(this: PoolClient, error: Error): void {
  checkedOut.get(this)?.fail(error)
}

/**
 * A client checked out of the pool for one tenant unit of work. While it is out it has an 'error'
 * listener (node-postgres emits 'error' on a client whose socket fails; with no listener that takes
 * the process down), and a client that failed is destroyed on release instead of going back to the pool.
 */
export class CheckedOutClient {
  readonly client: PoolClient
  #failure: Error | undefined
  #released = false

  constructor(client: PoolClient) {
    this.client = client
    checkedOut.set(client, this)
    client.on('error', recordFailure)
  }

  /** The first failure seen on this connection, if any: it will be destroyed, not reused. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /** Marks the connection as failed (destroyed on release). */
  fail(error: unknown): void {
    this.#failure ??= error instanceof Error ? error : new Error(String(error))
  }

  release(): void {
    if (this.#released) return
    this.#released = true
    this.client.off('error', recordFailure)
    this.client.release(this.#failure)
  }
}

/**
 * Checks a client out. Failures become catalogue errors: the pool's `connectionTimeoutMillis` elapsing
 * (every connection busy) is ROWFENCE_DATABASE_BUSY, anything else (refused, authentication, server
 * starting up or shutting down) ROWFENCE_DATABASE_UNAVAILABLE; both are 503s with a retry hint.
 */
export async function checkOut(pool: Pool): Promise<CheckedOutClient> {
  try {
    return new CheckedOutClient(await pool.connect())
  } catch (error) {
    throw new RowfenceError(
      isPoolTimeout(error) ? 'ROWFENCE_DATABASE_BUSY' : 'ROWFENCE_DATABASE_UNAVAILABLE',
      {
        cause: error,
      },
    )
  }
}

/** A PostgreSQL error reply (it has a severity): the statement failed, the connection is fine. */
export function isServerError(error: unknown): boolean {
  return error instanceof Error && 'severity' in error && !isConnectionFailure(error)
}

const connectionCodes = new Set(['ROWFENCE_DATABASE_UNAVAILABLE', 'ROWFENCE_COMMIT_UNKNOWN'])

/**
 * Decides what a failure inside a unit of work means for its connection. A connection failure (seen by
 * the listener or in the error itself) destroys the connection and becomes `code` (the original as
 * cause); a server error leaves the connection usable and is rethrown as it is. Anything else (an
 * exception from application code, a value that cannot be serialized) is rethrown as it is; with
 * `destroyOnOther` the connection is destroyed as well, for paths where its protocol state is unknown.
 */
export function connectionError(
  connection: CheckedOutClient,
  error: unknown,
  code: 'ROWFENCE_DATABASE_UNAVAILABLE' | 'ROWFENCE_COMMIT_UNKNOWN',
  options: { destroyOnOther?: boolean } = {},
): unknown {
  if (isRowfenceError(error) && connectionCodes.has(error.code)) {
    connection.fail(error)
    return error
  }
  if (
    isConnectionFailure(error) ||
    (connection.failure && !isServerError(error) && !isRowfenceError(error))
  ) {
    connection.fail(error)
    return new RowfenceError(code, { cause: error })
  }
  if (connection.failure) return error
  if (options.destroyOnOther && !isServerError(error)) connection.fail(error)
  return error
}

const writeCommand = /\b(?:INSERT|UPDATE|DELETE|MERGE|CALL|COPY|TRUNCATE|DO)\b/i

/**
 * Whether a statement whose connection was lost after it was sent may have changed data. Deliberately
 * coarse (a keyword test): a statement that might write reports ROWFENCE_COMMIT_UNKNOWN, a read
 * ROWFENCE_DATABASE_UNAVAILABLE. A SELECT that calls a writing function counts as a read here.
 */
export function mayWrite(text: string): boolean {
  return writeCommand.test(text)
}
