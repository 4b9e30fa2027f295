import { findRowfenceError, fromDatabaseError, RowfenceError } from '@rowfence/core'
import { RowfenceHttpError } from './errors.ts'

/** What an HTTP boundary sends for an error: a status, `{ code, message }` and (for 503s) Retry-After. */
export interface ErrorResponse {
  readonly status: number
  readonly body: { readonly code: string; readonly message: string }
  readonly headers: Readonly<Record<string, string>>
}

/** Framework 4xx errors (http-errors, Fastify, Hono's HTTPException, Nest's HttpException) by status. */
const clientStatusCodes: Readonly<Record<number, RowfenceError['code']>> = {
  403: 'ROWFENCE_FORBIDDEN',
  404: 'ROWFENCE_NOT_FOUND',
  409: 'ROWFENCE_CONFLICT',
}

function clientStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || findRowfenceError(error)) return undefined
  const candidate = error as { status?: unknown; statusCode?: unknown; getStatus?: unknown }
  const status =
    typeof candidate.getStatus === 'function'
      ? (candidate.getStatus as () => unknown).call(error)
      : (candidate.statusCode ?? candidate.status)
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined
}

function fromClientStatus(status: number, cause: unknown): RowfenceError | RowfenceHttpError {
  if (status === 401) return new RowfenceHttpError('ROWFENCE_UNAUTHENTICATED', { cause })
  const code = clientStatusCodes[status]
  if (code) return new RowfenceError(code, { cause })
  if (status === 400) return new RowfenceError('ROWFENCE_INVALID_INPUT', { cause })
  return new RowfenceHttpError('ROWFENCE_REQUEST_REJECTED', { status, cause })
}

/**
 * Maps anything thrown to the response a client may see. Catalogue errors (core's and this package's) go
 * out as they are; a framework's own 4xx keeps its status under a catalogue code and message; database
 * errors map by SQLSTATE through fromDatabaseError (42501 -> 403, 23503 -> 404, 23505 -> 409, 22P02 -> 400,
 * a lost connection -> 503); everything else is a generic 500. The body is `{ code, message }` only: no
 * stack, SQL text, parameters or DETAIL line ever reaches the client. Log the original error for 5xx.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  const clientStatus = clientStatusOf(error)
  const failure =
    error instanceof RowfenceHttpError
      ? error
      : clientStatus !== undefined
        ? fromClientStatus(clientStatus, error)
        : fromDatabaseError(error)
  const retryAfter = failure instanceof RowfenceError ? failure.details?.['retryAfterSeconds'] : undefined
  return {
    status: failure.statusCode,
    body: { code: failure.code, message: failure.message },
    headers: typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {},
  }
}
