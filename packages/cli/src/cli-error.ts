/** Thrown by commands; the one top-level catch in main.ts prints it and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError'
  readonly code: string
  readonly exitCode: number

  constructor(code: string, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.code = code
    this.exitCode = options.exitCode ?? 1
  }
}

export const usageError = (message: string): CliError =>
  new CliError('ROWFENCE_USAGE', message, { exitCode: 2 })

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, for anything echoed to a terminal. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<unparseable connection string>'
  }
}
