import {
  createRequestTransaction,
  type RequestTransaction,
  type RequestTransactionOptions,
  type TenantConnectionSource,
} from '@rowfence/core'
import { toErrorResponse, type ErrorResponse } from './error-response.ts'
import { RowfenceHttpError } from './errors.ts'
import type { TenantResolver } from './resolver.ts'

/** What every rowfence middleware takes. */
export interface TenantMiddlewareOptions<Request> {
  /** Where the request transaction takes its connection: a pg Pool, a TenantDatabase or a TenantPool. */
  readonly database: TenantConnectionSource
  /** The tenant context of a request, from a verified source (see jwtResolver). */
  readonly resolve: TenantResolver<Request>
  /** Isolation level, read-only, context config... of every request transaction. */
  readonly transaction?: RequestTransactionOptions | undefined
  /**
   * Called with the original error of every 5xx answered (a failed COMMIT included), for the server log.
   * Default: console.error. The client only ever sees `{ code, message }`.
   */
  readonly report?: ((error: unknown) => void) | undefined
}

/** A COMMIT that failed: the response to send instead of the handler's, and the error to log. */
export interface CommitFailure {
  readonly error: unknown
  readonly response: ErrorResponse
}

/**
 * One request's tenant transaction and what the request did: the framework packages open it once the
 * request is authenticated, run the handler in it, record errors with fail(), and end it with finish()
 * before the response goes out.
 */
export class RequestScope {
  readonly transaction: RequestTransaction
  #failed = false

  constructor(transaction: RequestTransaction) {
    this.transaction = transaction
  }

  /** The handler failed (threw, or the framework recorded an error): the transaction will roll back. */
  fail(): void {
    this.#failed = true
  }

  get failed(): boolean {
    return this.#failed
  }

  /** Runs `fn` with this request's transaction as the current tenant transaction. */
  run<T>(fn: () => T): T {
    return this.transaction.run(fn)
  }

  /**
   * Ends the transaction for a response of `status`: ROLLBACK when the request failed or the status is
   * >= 500, else COMMIT. Resolves with the response to send instead when COMMIT failed (a deferred
   * constraint, a lost connection: 409/503...), undefined otherwise. Later calls do nothing.
   */
  async finish(status: number): Promise<CommitFailure | undefined> {
    if (this.transaction.settled) return undefined
    if (this.#failed || status >= 500) {
      await this.transaction.rollback()
      return undefined
    }
    try {
      await this.transaction.commit()
      return undefined
    } catch (error) {
      this.#failed = true
      const response = toErrorResponse(error)
      // A COMMIT failure is never a client error to retry blindly as it is; 4xx codes keep their meaning.
      return { error, response }
    }
  }

  /** The request ended without a response (client gone, framework error): roll back. */
  abort(): Promise<void> {
    return this.transaction.rollback()
  }
}

/**
 * Authenticates the request and prepares its transaction (no connection is taken). Rejects with
 * ROWFENCE_UNAUTHENTICATED (401) when the resolver finds no context, ROWFENCE_INVALID_TENANT (400) when the
 * context is not valid.
 */
export async function openRequestScope<Request>(
  options: TenantMiddlewareOptions<Request>,
  request: Request,
): Promise<RequestScope> {
  const context = await options.resolve(request)
  if (!context) throw new RowfenceHttpError('ROWFENCE_UNAUTHENTICATED')
  return new RequestScope(createRequestTransaction(options.database, context, options.transaction))
}

const scopes = new WeakMap<object, RequestScope>()

/** Links a scope to its framework request object (Node's IncomingMessage, a Fastify request...). */
export function attachRequestScope(request: object, scope: RequestScope): void {
  scopes.set(request, scope)
}

/** The scope of a request, if the middleware ran for it. */
export function requestScopeOf(request: object): RequestScope | undefined {
  return scopes.get(request)
}

/** The default `report`: the original error on stderr (server side only). */
export function reportToConsole(error: unknown): void {
  console.error('rowfence: request failed', error)
}
