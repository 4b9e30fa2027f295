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
  ROWFENCE_TENANT_MISMATCH: {
    status: 500,
    message: 'A tenant context cannot be opened for another tenant or user inside a tenant transaction',
  },
  ROWFENCE_TRANSACTION_CONTROL: {
    status: 500,
    message: 'This transaction control statement cannot run inside a tenant transaction',
  },
  ROWFENCE_TRANSACTION_ABORTED: {
    status: 500,
    message: 'A statement of the transaction failed, so COMMIT rolled it back: nothing was saved',
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
  ROWFENCE_PROBE_REFUSED: {
    status: 400,
    message: 'The probe cannot run safely (rollback not guaranteed, or no way to set the tenant context)',
  },
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

/**
 * Whether `value` is a RowfenceError (with the given code). ORMs wrap what the driver threw (Drizzle's
 * DrizzleQueryError, Kysely, Prisma's driver adapter errors): the `cause` chain is searched too, so a
 * RowfenceError raised under an ORM is still recognised. Narrowing applies to `value` only when it is one
 * itself; use findRowfenceError() to get the nested one.
 */
export function isRowfenceError(value: unknown, code?: RowfenceErrorCode): value is RowfenceError {
  const found = findRowfenceError(value)
  return found !== undefined && (code === undefined || found.code === code)
}

/** The RowfenceError in `value` or its `cause` chain, if any. */
export function findRowfenceError(value: unknown): RowfenceError | undefined {
  for (const candidate of causeChain(value)) {
    if (candidate instanceof RowfenceError) return candidate
    // Prisma rebuilds errors it does not know as its own, keeping only `code` and the message.
    const code = (candidate as { code?: unknown } | null)?.code
    if (typeof code === 'string' && code.startsWith('ROWFENCE_') && Object.hasOwn(errorCatalogue, code)) {
      return new RowfenceError(code as RowfenceErrorCode, { cause: candidate })
    }
  }
  return undefined
}

/** `value`, then its causes (and Prisma's `meta.driverAdapterError`), without looping on cycles. */
function* causeChain(value: unknown): Generator<unknown> {
  const seen = new Set<unknown>()
  let current = value
  while (current !== null && current !== undefined && !seen.has(current) && seen.size < 16) {
    seen.add(current)
    yield current
    if (typeof current !== 'object') return
    const { cause, meta } = current as { cause?: unknown; meta?: { driverAdapterError?: unknown } }
    current = cause ?? meta?.driverAdapterError
  }
}

/** The SQLSTATE of a node-postgres error, or the one a Prisma driver adapter error carries. */
function sqlstateOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const { code, originalCode, cause } = value as { code?: unknown; originalCode?: unknown; cause?: unknown }
  // A Prisma client error (P2002, ...): its own code is Prisma's, not a SQLSTATE.
  if ('clientVersion' in value) return typeof code === 'string' ? prismaCodes[code] : undefined
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  if (typeof originalCode === 'string' && /^[0-9A-Z]{5}$/.test(originalCode)) return originalCode
  // Prisma's DriverAdapterError: { cause: { kind: 'postgres', code, originalCode, ... } }
  const adapterCause = cause as { kind?: unknown; code?: unknown; originalCode?: unknown } | undefined
  if (adapterCause && typeof adapterCause === 'object' && typeof adapterCause.kind === 'string') {
    for (const candidate of [adapterCause.originalCode, adapterCause.code]) {
      if (typeof candidate === 'string' && /^[0-9A-Z]{5}$/.test(candidate)) return candidate
    }
    return prismaKinds[adapterCause.kind]
  }
  return undefined
}

/** Prisma client error codes that stand for a SQLSTATE (used when no driver error is attached). */
const prismaCodes: Record<string, string> = {
  P2000: '22001',
  P2002: '23505',
  P2003: '23503',
  P2011: '23502',
}

/** Prisma driver adapter error kinds that stand for a SQLSTATE. */
const prismaKinds: Record<string, string> = {
  UniqueConstraintViolation: '23505',
  ForeignKeyConstraintViolation: '23503',
  NullConstraintViolation: '23502',
  InsufficientPrivilege: '42501',
  DatabaseNotReachable: '08006',
  ConnectionClosed: '08006',
  SocketTimeout: '08006',
}

/** The error of the cause chain that carries a database code, unwrapping ORM errors. */
function databaseErrorOf(error: unknown): unknown {
  // The innermost error that carries a SQLSTATE: a driver error is more precise than an ORM's summary.
  let found: unknown
  for (const candidate of causeChain(error)) if (sqlstateOf(candidate)) found = candidate
  if (found !== undefined) return found
  for (const candidate of causeChain(error)) {
    const code = (candidate as { code?: unknown } | null)?.code
    if (typeof code === 'string' && connectionLossCodes.has(code)) return candidate
  }
  return error
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
  const nested = findRowfenceError(error)
  if (nested) return nested
  const database = databaseErrorOf(error)
  const code =
    sqlstateOf(database) ??
    (typeof (database as PgErrorLike | null)?.code === 'string' ? (database as { code: string }).code : '')
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
