import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import FindMyWay from 'find-my-way'
import { fromDatabaseError, RowfenceError } from '@rowfence/core'

const probeMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * Turns anything thrown into `{ code, message }`. Catalogue errors below 500 go out as they are; database
 * errors are mapped by SQLSTATE; everything else is logged with the request id and answered with a
 * generic 500/503. No stack, SQL, parameters or PostgreSQL DETAIL ever reaches the client.
 */
export function toHttpError(error: unknown): RowfenceError {
  if (error instanceof RowfenceError) return error
  const fastifyError = error as Partial<FastifyError> & { code?: string }
  if (fastifyError?.validation) {
    return new RowfenceError('ROWFENCE_INVALID_INPUT', { message: fastifyError.message, cause: error })
  }
  switch (fastifyError?.code) {
    case 'FST_CSRF_INVALID_TOKEN':
    case 'FST_CSRF_MISSING_SECRET':
      return new RowfenceError('ROWFENCE_INVALID_CSRF_TOKEN', { cause: error })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RowfenceError('ROWFENCE_INVALID_INPUT', {
        message: 'The request body is not valid JSON',
        cause: error,
      })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RowfenceError('ROWFENCE_PAYLOAD_TOO_LARGE', { cause: error })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RowfenceError('ROWFENCE_UNSUPPORTED_MEDIA_TYPE', { cause: error })
  }
  if (
    typeof fastifyError?.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return new RowfenceError('ROWFENCE_INVALID_INPUT', { cause: error })
  }
  return fromDatabaseError(error)
}

export function registerErrorHandling(app: FastifyInstance): void {
  // A second router that knows every path, so an unmatched request can tell 405 from 404.
  const paths = FindMyWay({ ignoreTrailingSlash: true })
  app.addHook('onRoute', function recordRoutePath(route) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (!paths.hasRoute(method as 'GET', route.url)) paths.on(method as 'GET', route.url, () => undefined)
    }
  })

  app.setErrorHandler(function rowfenceErrorHandler(
    error: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const failure = toHttpError(error)
    if (failure.statusCode >= 500) request.log.error({ err: error, code: failure.code }, 'request failed')
    else request.log.info({ code: failure.code }, 'request rejected')
    const retryAfter = failure.details?.['retryAfterSeconds']
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
    return reply.code(failure.statusCode).send(failure.toJSON())
  })

  app.setNotFoundHandler(function rowfenceNotFound(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = probeMethods.filter((method) => paths.find(method, path) !== null)
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(new RowfenceError('ROWFENCE_METHOD_NOT_ALLOWED').toJSON())
    }
    return reply
      .code(404)
      .send(new RowfenceError('ROWFENCE_NOT_FOUND', { message: 'No route matches this URL' }).toJSON())
  })
}
