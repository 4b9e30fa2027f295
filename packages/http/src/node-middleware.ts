import type { IncomingMessage, ServerResponse } from 'node:http'
import { toErrorResponse, type ErrorResponse } from './error-response.ts'
import {
  attachRequestScope,
  openRequestScope,
  reportToConsole,
  requestScopeOf,
  type RequestScope,
  type TenantMiddlewareOptions,
} from './request-scope.ts'

type Next = (error?: unknown) => void
type Gated = 'writeHead' | 'flushHeaders' | 'write' | 'end'
const gated: readonly Gated[] = ['writeHead', 'flushHeaders', 'write', 'end']

/** Writes `{ code, message }` as JSON with the response's own (unwrapped) methods. */
export function sendErrorResponse(res: ServerResponse, response: ErrorResponse): void {
  const body = JSON.stringify(response.body)
  res.statusCode = response.status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('content-length', Buffer.byteLength(body))
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value)
  res.end(body)
}

/**
 * Holds the response until the request transaction has ended: the first writeHead/flushHeaders/write/end
 * (headers are still unsent then) ends the transaction for the status about to go out, meanwhile every
 * call is queued; then the calls are replayed in order. A COMMIT that fails replaces the response with the
 * error response (nothing of the handler's response has left). A request closed before any response rolls
 * back.
 */
export function commitBeforeResponse(
  res: ServerResponse,
  scope: RequestScope,
  report: (error: unknown) => void,
): void {
  const target = res as unknown as Record<Gated, (...args: unknown[]) => unknown>
  const originals = Object.fromEntries(gated.map((name) => [name, target[name]])) as Record<
    Gated,
    (...args: unknown[]) => unknown
  >
  let queue: [Gated, unknown[]][] | undefined
  const release = async (status: number, calls: [Gated, unknown[]][]): Promise<void> => {
    const failure = await scope
      .finish(status)
      .catch((error: unknown) => ({ error, response: toErrorResponse(error) }))
    for (const name of gated) delete target[name]
    if (!failure) {
      for (const [name, args] of calls) originals[name].apply(res, args)
      return
    }
    report(failure.error)
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    sendErrorResponse(res, failure.response)
  }
  for (const name of gated) {
    target[name] = function holdUntilCommitted(...args: unknown[]): unknown {
      if (!queue) {
        queue = []
        const status = name === 'writeHead' && typeof args[0] === 'number' ? args[0] : res.statusCode
        void release(status, queue)
      }
      queue.push([name, args])
      return name === 'write' ? true : res
    }
  }
  res.once('close', () => {
    if (!queue) void scope.abort()
  })
}

/**
 * Connect-style middleware (Express, NestJS on Express, plain node:http stacks): authenticates the request
 * (401 through `next(error)` before any connection is taken), then runs the rest of the chain in the
 * request's lazy tenant transaction, committed before the response is sent. Mount it after the body
 * parsers: a parser that calls `next` from a stream event would leave the transaction's async context.
 */
export function createNodeMiddleware<Request extends IncomingMessage>(
  options: TenantMiddlewareOptions<Request>,
): (req: Request, res: ServerResponse, next: Next) => void {
  const report = options.report ?? reportToConsole
  return function rowfenceTenantTransaction(req: Request, res: ServerResponse, next: Next): void {
    openRequestScope(options, req).then(
      (scope) => {
        attachRequestScope(req, scope)
        commitBeforeResponse(res, scope, report)
        scope.run(() => next())
      },
      (error: unknown) => next(error),
    )
  }
}

/**
 * Connect-style error middleware: marks the request's transaction for rollback, then answers with
 * toErrorResponse() (`{ code, message }`, 401/403/404/409/400/503/500); 5xx errors go to `report`.
 */
export function createNodeErrorHandler(
  report: (error: unknown) => void = reportToConsole,
): (error: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return function rowfenceErrorHandler(
    error: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    next: Next,
  ): void {
    requestScopeOf(req)?.fail()
    if (res.headersSent) {
      next(error)
      return
    }
    const response = toErrorResponse(error)
    if (response.status >= 500) report(error)
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    sendErrorResponse(res, response)
  }
}
