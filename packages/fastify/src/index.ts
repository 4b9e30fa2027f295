/** `@rowfence/fastify`: the request's tenant transaction for Fastify, committed in onSend. */
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
} from 'fastify'
import {
  attachRequestScope,
  openRequestScope,
  requestScopeOf,
  toErrorResponse,
  type RequestScope,
  type TenantMiddlewareOptions,
} from '@rowfence/http'

export type RowfenceFastifyOptions = Omit<TenantMiddlewareOptions<FastifyRequest>, 'report'> & {
  /**
   * Install the error handler (`{ code, message }` through toErrorResponse). Default true; set false to
   * keep your own (it should answer rowfence errors with toErrorResponse as well).
   */
  readonly errorHandler?: boolean | undefined
}

/** Marks a Fastify plugin as not encapsulated (what fastify-plugin does), so its hooks cover the app. */
const skipOverride = Symbol.for('skip-override')

function scopeOf(request: FastifyRequest): RequestScope | undefined {
  return requestScopeOf(request)
}

/** For `setErrorHandler()`: `{ code, message }` with the mapped status; 5xx are logged with the request. */
export function rowfenceErrorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  scopeOf(request)?.fail()
  const response = toErrorResponse(error)
  if (response.status >= 500) request.log.error({ err: error, code: response.body.code }, 'request failed')
  return reply.code(response.status).headers(response.headers).send(response.body)
}

function registerTenantTransaction(
  app: FastifyInstance,
  options: RowfenceFastifyOptions,
  done: (error?: Error) => void,
): void {
  // onRequest: authenticate (401 before any connection) and prepare the lazy transaction.
  app.addHook('onRequest', async function rowfenceAuthenticate(request) {
    attachRequestScope(request, await openRequestScope(options, request))
  })
  // preHandler, callback style: the rest of the hooks and the handler run inside the transaction's scope.
  app.addHook('preHandler', function rowfenceEnterTransaction(request, _reply, next) {
    const scope = scopeOf(request)
    if (scope) scope.run(() => next())
    else next()
  })
  app.addHook('onError', async function rowfenceRecordError(request) {
    scopeOf(request)?.fail()
  })
  // onSend: COMMIT (or ROLLBACK) before the payload goes out; a failed COMMIT becomes the error reply.
  app.addHook('onSend', async function rowfenceEndTransaction(request, reply, payload) {
    const failure = await scopeOf(request)?.finish(reply.statusCode)
    if (failure) throw failure.error
    return payload
  })
  // Safety net: a request that ended without onSend (client gone) never leaves its transaction open.
  const abort = async function rowfenceAbortTransaction(request: FastifyRequest): Promise<void> {
    await scopeOf(request)?.abort()
  }
  app.addHook('onResponse', abort)
  app.addHook('onRequestAbort', abort)
  if (options.errorHandler !== false) app.setErrorHandler(rowfenceErrorHandler)
  done()
}

/**
 * The Fastify plugin (not encapsulated: it covers the routes of the instance it is registered on):
 * `resolve(request)` authenticates in onRequest (401 before any connection is taken); the handler runs in
 * one lazy tenant transaction, visible through AsyncLocalStorage; onSend commits before the payload goes
 * out, or rolls back when the handler threw or the status is >= 500; a failed COMMIT replaces the reply.
 */
export const rowfence: FastifyPluginCallback<RowfenceFastifyOptions> = Object.assign(
  registerTenantTransaction,
  {
    [skipOverride]: true,
    [Symbol.for('fastify.display-name')]: '@rowfence/fastify',
  },
)

export default rowfence

/** The request's tenant transaction scope (undefined on a route the plugin does not cover). */
export function requestScope(request: FastifyRequest): RequestScope | undefined {
  return scopeOf(request)
}

/** The resolvers and the error mapping, so that one import is enough. */
export { insecureHeaderResolver, jwtResolver, toErrorResponse } from '@rowfence/http'
