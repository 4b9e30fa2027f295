import { RowfenceError } from '@rowfence/core'

/**
 * The demo's own error catalogue: what only a web application raises (sessions, forms, HTTP framing,
 * limits). Same shape as core's catalogue: a stable `ROWFENCE_*` code, a message for humans, an HTTP
 * status. The error handler maps both catalogues to `{ code, message }`.
 */
export const demoErrorCatalogue = {
  ROWFENCE_UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  ROWFENCE_INVALID_CSRF_TOKEN: {
    status: 403,
    message: 'The form is out of date or was not sent from this site; reload the page and try again',
  },
  ROWFENCE_METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed on this resource' },
  ROWFENCE_QUOTA_EXCEEDED: { status: 409, message: 'A quota of this account is used up' },
  ROWFENCE_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  ROWFENCE_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body has an unsupported content type',
  },
  ROWFENCE_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  ROWFENCE_RATE_LIMITED: { status: 429, message: 'Too many failed attempts; try again later' },
  ROWFENCE_SERVER_BUSY: { status: 503, message: 'The server is busy; retry later' },
} as const satisfies Record<string, { status: number; message: string }>

export type DemoErrorCode = keyof typeof demoErrorCatalogue

export interface DemoErrorOptions {
  /** Replaces the catalogue message; must not contain SQL, parameters or secrets. */
  message?: string
  cause?: unknown
  /** Structured, safe-to-log facts (e.g. `retryAfterSeconds`). */
  details?: Record<string, unknown>
}

export class DemoError extends Error {
  override readonly name = 'DemoError'
  readonly code: DemoErrorCode
  readonly statusCode: number
  readonly details: Record<string, unknown> | undefined

  constructor(code: DemoErrorCode, options: DemoErrorOptions = {}) {
    super(options.message ?? demoErrorCatalogue[code].message, { cause: options.cause })
    this.code = code
    this.statusCode = demoErrorCatalogue[code].status
    this.details = options.details
  }

  /** The body an HTTP response may carry: `{ code, message }` and nothing else. */
  toJSON(): { code: DemoErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

/** An error of either catalogue: what the HTTP boundary sends. */
export type HttpError = RowfenceError | DemoError

export function isHttpError(value: unknown): value is HttpError {
  return value instanceof RowfenceError || value instanceof DemoError
}

/** The `{ code, message }` body of a catalogue code, for places that answer without throwing. */
export function errorBody(code: DemoErrorCode, message?: string): { code: DemoErrorCode; message: string } {
  return { code, message: message ?? demoErrorCatalogue[code].message }
}
