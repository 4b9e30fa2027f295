/**
 * The error catalogue. Every error rowfence raises has a stable `ROWFENCE_*` code, a message meant for
 * humans and an HTTP status for boundaries that speak HTTP. Messages never contain SQL text, bind
 * parameters or PostgreSQL DETAIL/HINT lines; the original error travels as `cause`.
 */

export const errorCatalogue = {
  ROWFENCE_INVALID_TENANT: { status: 400, message: 'The tenant id must be a UUID' },
  ROWFENCE_INVALID_USER: { status: 400, message: 'The user id must be a UUID' },
  ROWFENCE_INVALID_INPUT: { status: 400, message: 'The request is not valid' },
  ROWFENCE_FORBIDDEN: { status: 403, message: 'This action is not allowed for the current tenant or user' },
  ROWFENCE_NOT_FOUND: { status: 404, message: 'Not found' },
  ROWFENCE_CONFLICT: { status: 409, message: 'The request conflicts with existing data' },
  ROWFENCE_NO_TENANT_CONTEXT: {
    status: 500,
    message: 'A tenant query was attempted outside a tenant context; wrap it in withTenant()',
  },
  ROWFENCE_CONTEXT_CLOSED: {
    status: 500,
    message: 'The tenant transaction has already ended; queries must finish inside the withTenant() callback',
  },
  ROWFENCE_INTERNAL: { status: 500, message: 'Internal server error' },
  ROWFENCE_DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable; retry later' },
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
  ROWFENCE_PROBE_REFUSED: {
    status: 400,
    message: 'The probe cannot run safely (rollback not guaranteed, or no way to set the tenant context)',
  },
} as const satisfies Record<string, { status: number; message: string }>

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
    this.details = options.details
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
  if (
    error instanceof Error &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
  ) {
    return wrap('ROWFENCE_DATABASE_UNAVAILABLE')
  }
  return wrap('ROWFENCE_INTERNAL')
}
