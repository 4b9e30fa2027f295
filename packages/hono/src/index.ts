/** `@rowfence/hono`: the request's tenant transaction for Hono, ended before the response is returned. */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import {
  openRequestScope,
  reportToConsole,
  toErrorResponse,
  type ErrorResponse,
  type TenantMiddlewareOptions,
} from '@rowfence/http'

/** `resolve` gets the Fetch API request (`c.req.raw`, what jwtResolver reads) and the Hono context. */
export type TenantTransactionOptions = TenantMiddlewareOptions<Request> & {
  readonly resolve: (
    request: Request,
    context?: Context,
  ) => ReturnType<TenantMiddlewareOptions<Request>['resolve']>
}

function errorResponse(c: Context, response: ErrorResponse): Response {
  return c.json(response.body, response.status as 500, { ...response.headers })
}

/**
 * Hono middleware: `resolve(c.req.raw, c)` authenticates (401 before any connection is taken); `next()`
 * runs in one lazy tenant transaction, visible to handlers and ORM adapters through AsyncLocalStorage.
 * Hono keeps a handler's error in `c.error` instead of throwing it, so after `next()`: ROLLBACK when
 * `c.error` is set or the status is >= 500, COMMIT otherwise; a failed COMMIT replaces `c.res`.
 */
export function tenantTransaction(options: TenantTransactionOptions): MiddlewareHandler {
  const report = options.report ?? reportToConsole
  return async function rowfenceTenantTransaction(c, next) {
    let scope
    try {
      scope = await openRequestScope(
        { ...options, resolve: (request: Request) => options.resolve(request, c) },
        c.req.raw,
      )
    } catch (error) {
      return errorResponse(c, toErrorResponse(error))
    }
    try {
      await scope.run(() => next())
    } catch (error) {
      // Hono's compose catches handler errors; this is the rare throw from compose itself.
      await scope.abort()
      throw error
    }
    if (c.error) scope.fail()
    const failure = await scope.finish(c.res.status)
    if (failure) {
      report(failure.error)
      c.res = undefined
      c.res = errorResponse(c, failure.response)
    }
    return undefined
  }
}

/** For `app.onError()`: answers `{ code, message }` with the mapped status; 5xx errors go to `report`. */
export function tenantErrorHandler(report: (error: unknown) => void = reportToConsole): ErrorHandler {
  return function rowfenceErrorHandler(error, c) {
    const response = toErrorResponse(error)
    if (response.status >= 500) report(error)
    return errorResponse(c, response)
  }
}

/** The resolvers and the error mapping, so that one import is enough. */
export { insecureHeaderResolver, jwtResolver, toErrorResponse } from '@rowfence/http'
