/** `@rowfence/express`: the request's tenant transaction for Express, committed before the response is sent. */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import {
  createNodeErrorHandler,
  createNodeMiddleware,
  requestScopeOf,
  type TenantMiddlewareOptions,
} from '@rowfence/http'

export type TenantTransactionOptions = TenantMiddlewareOptions<Request>

/**
 * Express middleware: `resolve(req)` authenticates (a missing or invalid token goes to `next(error)` as a
 * 401 before any connection is taken); the rest of the chain runs in one lazy tenant transaction (the
 * first query takes the connection), visible to handlers and ORM adapters through AsyncLocalStorage. The
 * transaction ends when the response starts: ROLLBACK for a 5xx or when tenantErrorHandler() saw an error,
 * COMMIT otherwise, and a failed COMMIT replaces the response with its error. Mount it after the body
 * parsers (express.json()) and tenantErrorHandler() after the routes.
 */
export function tenantTransaction(options: TenantTransactionOptions): RequestHandler {
  return createNodeMiddleware(options) as unknown as RequestHandler
}

/**
 * Express error middleware: rolls the request's transaction back and answers `{ code, message }` with the
 * mapped status (401/403/404/409/400/503/500). `report` gets the original error of every 5xx.
 */
export function tenantErrorHandler(report?: (error: unknown) => void): ErrorRequestHandler {
  return createNodeErrorHandler(report) as unknown as ErrorRequestHandler
}

/** Marks the request as failed (its transaction rolls back), for apps that answer errors themselves. */
export function failRequest(req: Request): void {
  requestScopeOf(req)?.fail()
}

/** The resolvers and the error mapping, so that one import is enough. */
export { insecureHeaderResolver, jwtResolver, toErrorResponse } from '@rowfence/http'
