import type { Socket } from 'node:net'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import FindMyWay from 'find-my-way'
import { fromDatabaseError, RowfenceError } from '@rowfence/core'
import { DemoError, errorBody, isHttpError, type HttpError } from '../errors.ts'
import { applySecurityHeaders, securityHeaders } from './security-headers.ts'

const probeMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * Turns anything thrown into an error of one of the two catalogues (core's, the demo's). Catalogue
 * errors go out as they are; Fastify's own errors are mapped by code; database errors by SQLSTATE;
 * everything else becomes a generic 500/503 whose cause is only logged. No stack, SQL, parameters or
 * PostgreSQL DETAIL ever reaches the client.
 */
export function toHttpError(error: unknown): HttpError {
  if (isHttpError(error)) return error
  const fastifyError = error as Partial<FastifyError> & { code?: string }
  if (fastifyError?.validation) {
    return new RowfenceError('ROWFENCE_INVALID_INPUT', { message: fastifyError.message, cause: error })
  }
  switch (fastifyError?.code) {
    case 'FST_CSRF_INVALID_TOKEN':
    case 'FST_CSRF_MISSING_SECRET':
      return new DemoError('ROWFENCE_INVALID_CSRF_TOKEN', { cause: error })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RowfenceError('ROWFENCE_INVALID_INPUT', {
        message: 'The request body is not valid JSON',
        cause: error,
      })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DemoError('ROWFENCE_PAYLOAD_TOO_LARGE', { cause: error })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DemoError('ROWFENCE_UNSUPPORTED_MEDIA_TYPE', { cause: error })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RowfenceError('ROWFENCE_INVALID_INPUT', {
        message: 'The Content-Length header does not match the body',
        cause: error,
      })
    case 'FST_ERR_BAD_URL':
      return new RowfenceError('ROWFENCE_INVALID_INPUT', { message: 'The URL is not valid', cause: error })
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

/** Sends a catalogue error as `{ code, message }` (with Retry-After when it names one). */
export function sendHttpError(reply: FastifyReply, failure: HttpError): FastifyReply {
  const retryAfter = failure.details?.['retryAfterSeconds']
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
  return reply.code(failure.statusCode).send(failure.toJSON())
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing (a URL that cannot be decoded). Answered in
 * our format, never echoing the URL.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  request.log.info({ code: error.code }, 'request rejected before routing')
  applySecurityHeaders(reply)
  return sendHttpError(reply, toHttpError(error))
}

const clientErrorStatus: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
}

/**
 * Node's `clientError`: requests the HTTP parser refuses (bad Content-Length, headers too large, bad
 * framing). Written straight to the socket as `{ code, message }` with the security headers, then closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const status = clientErrorStatus[error.code ?? ''] ?? 400
  const body = JSON.stringify(
    status === 431
      ? errorBody('ROWFENCE_HEADERS_TOO_LARGE')
      : status === 408
        ? { code: 'ROWFENCE_INVALID_INPUT', message: 'The request took too long to arrive' }
        : { code: 'ROWFENCE_INVALID_INPUT', message: 'The request is not valid HTTP' },
  )
  const headers = {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  }
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `\r\n${body}`,
  )
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
    return sendHttpError(reply, failure)
  })

  app.setNotFoundHandler(function rowfenceNotFound(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = probeMethods.filter((method) => paths.find(method, path) !== null)
    // A route for this very method that gave up (a static file that does not exist) is a 404, not a 405.
    if (allowed.length > 0 && !allowed.includes(request.method as (typeof probeMethods)[number])) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(errorBody('ROWFENCE_METHOD_NOT_ALLOWED'))
    }
    return reply
      .code(404)
      .send(new RowfenceError('ROWFENCE_NOT_FOUND', { message: 'No route matches this URL' }).toJSON())
  })
}
