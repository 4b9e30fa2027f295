/**
 * The error catalogue. Every error rowfence raises has a stable `ROWFENCE_*` code, a message meant for
 * humans and an HTTP status for boundaries that speak HTTP. Messages never contain SQL text, bind
 * parameters or PostgreSQL DETAIL/HINT lines; the original error travels as `cause`.
 */

export const errorCatalogue = {
  ROWFENCE_INVALID_TENANT: { status: 400, message: 'The tenant id must be a UUID' },
  ROWFENCE_INVALID_USER: { status: 400, message: 'The user id must be a UUID' },
  ROWFENCE_INVALID_INPUT: { status: 400, message: 'The request is not valid' },
  ROWFENCE_UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  ROWFENCE_FORBIDDEN: { status: 403, message: 'This action is not allowed for the current tenant or user' },
  ROWFENCE_INVALID_CSRF_TOKEN: {
    status: 403,
    message: 'The form is out of date or was not sent from this site; reload the page and try again',
  },
  ROWFENCE_NOT_FOUND: { status: 404, message: 'Not found' },
  ROWFENCE_METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed on this resource' },
  ROWFENCE_CONFLICT: { status: 409, message: 'The request conflicts with existing data' },
  ROWFENCE_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  ROWFENCE_RATE_LIMITED: { status: 429, message: 'Too many failed attempts; try again later' },
  ROWFENCE_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body has an unsupported content type',
  },
  ROWFENCE_NO_TENANT_CONTEXT: {
    status: 500,
    message: 'A tenant query was attempted outside a tenant context; wrap it in withTenant()',
  },
  ROWFENCE_CONTEXT_CLOSED: {
    status: 500,
    message: 'The tenant transaction has already ended; queries must finish inside the withTenant() callback',
  },
  ROWFENCE_INTERNAL: { status: 500, message: 'Internal server error' },
  ROWFENCE_DATABASE_UNAVAILABLE: {
    status: 503,
    message: 'The database is unavailable; retry later',
    retryAfterSeconds: 1,
  },
  ROWFENCE_DATABASE_BUSY: {
    status: 503,
    message: 'No database connection became free in time; retry later',
    retryAfterSeconds: 1,
  },
  ROWFENCE_QUERY_TIMEOUT: {
    status: 503,
    message: 'The database cancelled a statement that ran too long; retry later',
    retryAfterSeconds: 1,
  },
  ROWFENCE_COMMIT_UNKNOWN: {
    status: 503,
    message:
      'The connection was lost while the transaction was committing: the write may or may not have been saved',
    retryAfterSeconds: 1,
  },
  ROWFENCE_MIGRATION_CHECKSUM_MISMATCH: {
    status: 500,
    message: 'An applied migration was edited after it ran',
  },
  ROWFENCE_MIGRATION_FAILED: { status: 500, message: 'A migration failed and was rolled back' },
  ROWFENCE_MIGRATION_INVALID: { status: 500, message: 'The migrations folder is not valid' },
  ROWFENCE_CONFIG_INVALID: { status: 500, message: 'The configuration is not valid' },
  ROWFENCE_SCHEMA_INVALID: { status: 500, message: 'The schema definition is not valid' },
  ROWFENCE_SCHEMA_SNAPSHOT_INVALID: {
    status: 500,
    message: 'The schema snapshot next to the migrations is not valid',
  },
  ROWFENCE_SCHEMA_CHANGE_UNSUPPORTED: {
    status: 500,
    message: 'This schema change cannot be generated; write the migration by hand',
  },
  ROWFENCE_SCHEMA_CHANGE_DESTRUCTIVE: {
    status: 500,
    message: 'This schema change drops tables or columns; confirm it explicitly',
  },
  ROWFENCE_CHECK_TARGET_NOT_FOUND: {
    status: 400,
    message: 'The schema or role to check does not exist',
  },
  ROWFENCE_BASELINE_INVALID: { status: 400, message: 'The baseline file is not valid' },
} as const satisfies Record<string, { status: number; message: string; retryAfterSeconds?: number }>

export type RowfenceErrorCode = keyof typeof errorCatalogue

export interface RowfenceErrorOptions {
  /** Replaces the catalogue message; must not contain SQL, parameters or DETAIL lines. */
  message?: string
  cause?: unknown
  /** Structured, safe-to-log facts about the failure (ids, file names), never secrets. */
  details?: Record<string, unknown>
}

export class RowfenceError extends Error {
  override readonly name = 'RowfenceError'
  readonly code: RowfenceErrorCode
  readonly statusCode: number
  readonly details: Record<string, unknown> | undefined

  constructor(code: RowfenceErrorCode, options: RowfenceErrorOptions = {}) {
    super(options.message ?? errorCatalogue[code].message, { cause: options.cause })
    this.code = code
    this.statusCode = errorCatalogue[code].status
    const entry = errorCatalogue[code] as { retryAfterSeconds?: number }
    // 503s tell the client when to come back (the HTTP boundary turns this into Retry-After).
    this.details =
      entry.retryAfterSeconds === undefined
        ? options.details
        : { retryAfterSeconds: entry.retryAfterSeconds, ...options.details }
  }

  /** The body an HTTP boundary may send: `{ code, message }` and nothing else. */
  toJSON(): { code: RowfenceErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

export function isRowfenceError(value: unknown, code?: RowfenceErrorCode): value is RowfenceError {
  return value instanceof RowfenceError && (code === undefined || value.code === code)
}

/** The subset of node-postgres' DatabaseError we read. */
interface PgErrorLike {
  code?: unknown
  routine?: unknown
}

const connectionLossCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'])

/**
 * Maps a PostgreSQL (SQLSTATE) or socket error to a catalogue error. Unknown errors become
 * ROWFENCE_INTERNAL, keeping the original as `cause` for the server log only.
 */
export function fromDatabaseError(error: unknown): RowfenceError {
  if (error instanceof RowfenceError) return error
  const code = typeof (error as PgErrorLike | null)?.code === 'string' ? (error as { code: string }).code : ''
  const wrap = (rowfenceCode: RowfenceErrorCode): RowfenceError =>
    new RowfenceError(rowfenceCode, { cause: error, details: code ? { sqlstate: code } : undefined })
  if (code === '42501') return wrap('ROWFENCE_FORBIDDEN')
  if (code === '57014') return wrap('ROWFENCE_QUERY_TIMEOUT')
  if (code === '23505') return wrap('ROWFENCE_CONFLICT')
  if (code === '23503') return wrap('ROWFENCE_NOT_FOUND')
  if (code === '22P02' || code === '22023' || code === '23502' || code === '23514' || code === '22001') {
    return wrap('ROWFENCE_INVALID_INPUT')
  }
  if (
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '53300' ||
    code.startsWith('08') ||
    connectionLossCodes.has(code)
  ) {
    return wrap('ROWFENCE_DATABASE_UNAVAILABLE')
  }
  if (isPoolTimeout(error)) return wrap('ROWFENCE_DATABASE_BUSY')
  if (isConnectionFailure(error)) return wrap('ROWFENCE_DATABASE_UNAVAILABLE')
  return wrap('ROWFENCE_INTERNAL')
}

/** node-postgres' pool gave up waiting for a free (or new) connection: `connectionTimeoutMillis`. */
export function isPoolTimeout(error: unknown): boolean {
  return error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message)
}

const connectionLossMessage =
  /Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|Connection (?:ended|closed)|socket hang up|read ECONNRESET|write EPIPE|Unexpected message|Received unexpected|received invalid response/i

/**
 * Whether an error means the connection itself failed (socket lost, server shutting down, protocol
 * trouble), as opposed to a statement error on a healthy connection. Such a connection must be destroyed.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const { code, severity } = error as Error & { code?: unknown; severity?: unknown }
  if (typeof code === 'string') {
    if (code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true
    if (code.startsWith('08') || connectionLossCodes.has(code)) return true
  }
  if (severity === 'FATAL' || severity === 'PANIC') return true
  return connectionLossMessage.test(error.message)
}
