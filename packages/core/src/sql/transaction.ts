import type { ClientBase, Pool, PoolClient } from 'pg'
import { isConnectionFailure } from '../errors.ts'

/** Options of a plain (non-tenant) transaction. */
export interface InTransactionOptions {
  readonly readOnly?: boolean | undefined
}

/**
 * Checks a client out of the pool for `fn` and gives it back. While it is out, a socket error on it is
 * recorded instead of crashing the process (node-postgres emits 'error' on the client), and a client
 * that failed, or whose `fn` threw something that is not a PostgreSQL error, is destroyed rather than
 * returned to the pool.
 */
export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let failure: Error | undefined
  const onError = (error: Error): void => {
    failure ??= error
  }
  client.on('error', onError)
  try {
    return await fn(client)
  } catch (error) {
    // A server error (it has a severity) leaves the connection usable, unless it ended the session
    // (FATAL, admin shutdown); anything else may not.
    if (!(error instanceof Error && 'severity' in error) || isConnectionFailure(error)) {
      failure ??= error as Error
    }
    throw error
  } finally {
    client.off('error', onError)
    client.release(failure)
  }
}

/**
 * Runs `fn` in BEGIN ... COMMIT on `client`; on a throw, rolls back and rethrows the original error. A
 * failed ROLLBACK is thrown only when `fn` succeeded; the caller's withClient() then destroys the client.
 */
export async function inTransaction<T>(
  client: ClientBase,
  fn: () => Promise<T>,
  options: InTransactionOptions = {},
): Promise<T> {
  await client.query(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN')
  let result: T
  try {
    result = await fn()
  } catch (error) {
    try {
      await client.query('ROLLBACK')
    } catch (rollbackError) {
      throw new AggregateError([error, rollbackError], (error as Error)?.message ?? 'transaction failed', {
        cause: error,
      })
    }
    throw error
  }
  await client.query('COMMIT')
  return result
}
