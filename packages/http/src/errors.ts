/**
 * The HTTP layer's own error catalogue: what only a web boundary raises. Same shape as core's catalogue (a
 * stable `ROWFENCE_*` code, a message for humans, an HTTP status); toErrorResponse() maps both.
 */
export const httpErrorCatalogue = {
  ROWFENCE_UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  ROWFENCE_REQUEST_REJECTED: { status: 400, message: 'The request was rejected' },
} as const satisfies Record<string, { status: number; message: string }>

export type HttpErrorCode = keyof typeof httpErrorCatalogue

export interface HttpErrorOptions {
  /** Replaces the catalogue message; must not contain SQL, parameters, tokens or secrets. */
  message?: string
  cause?: unknown
  /** Replaces the catalogue status (ROWFENCE_REQUEST_REJECTED carries the framework's 4xx). */
  status?: number
}

export class RowfenceHttpError extends Error {
  override readonly name = 'RowfenceHttpError'
  readonly code: HttpErrorCode
  readonly statusCode: number

  constructor(code: HttpErrorCode, options: HttpErrorOptions = {}) {
    super(options.message ?? httpErrorCatalogue[code].message, { cause: options.cause })
    this.code = code
    this.statusCode = options.status ?? httpErrorCatalogue[code].status
  }

  /** The body an HTTP response may carry: `{ code, message }` and nothing else. */
  toJSON(): { code: HttpErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}
