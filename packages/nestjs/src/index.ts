/**
 * `@rowfence/nestjs`: the request's tenant transaction for NestJS on the Express platform, committed
 * before the response is sent, and an exception filter that rolls it back and answers `{ code, message }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common'
import {
  createNodeErrorHandler,
  createNodeMiddleware,
  reportToConsole,
  type TenantMiddlewareOptions,
} from '@rowfence/http'

export type TenantMiddlewareConfig = TenantMiddlewareOptions<IncomingMessage>

type Next = (error?: unknown) => void

/**
 * Functional Nest middleware (`consumer.apply(tenantMiddleware(options)).forRoutes('*')`, or `app.use()`
 * after the body parser): `resolve(req)` authenticates (401 before any connection is taken), then the
 * handler runs in one lazy tenant transaction (AsyncLocalStorage), committed when the response starts, or
 * rolled back for a 5xx or when RowfenceExceptionFilter saw an exception. A failed COMMIT replaces the
 * response with its error (409/503...).
 */
export function tenantMiddleware(
  options: TenantMiddlewareConfig,
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const middleware = createNodeMiddleware(options)
  const answerError = createNodeErrorHandler(options.report ?? reportToConsole)
  return function rowfenceNestTenantTransaction(req, res, next) {
    // Nest does not route a middleware's next(error) to its exception filters: answer 401/400 here.
    middleware(req, res, (error?: unknown) =>
      error === undefined ? next() : answerError(error, req, res, next),
    )
  }
}

/**
 * A global exception filter (`app.useGlobalFilters(new RowfenceExceptionFilter())`): any exception rolls the
 * request's transaction back; the answer is toErrorResponse() (Nest's HttpExceptions keep their 4xx
 * status under a catalogue code; database errors map by SQLSTATE; the rest is a generic 500).
 */
export class RowfenceExceptionFilter implements ExceptionFilter {
  readonly #answer: ReturnType<typeof createNodeErrorHandler>

  constructor(report: (error: unknown) => void = reportToConsole) {
    this.#answer = createNodeErrorHandler(report)
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception
    const http = host.switchToHttp()
    this.#answer(
      exception,
      http.getRequest<IncomingMessage>(),
      http.getResponse<ServerResponse>(),
      () => undefined,
    )
  }
}

/** The resolvers and the error mapping, so that one import is enough. */
export { insecureHeaderResolver, jwtResolver, toErrorResponse } from '@rowfence/http'
