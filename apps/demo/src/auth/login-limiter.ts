import { RowfenceError } from '@rowfence/core'

export interface LoginLimiterOptions {
  /** Failures allowed within the window per kind of key (`ip:...`, `user:...`) before attempts are refused. */
  readonly maxFailures: Readonly<Record<string, number>>
  readonly windowMs: number
  readonly now?: () => number
}

/**
 * Counts failed logins per key (`ip:<address>`, `user:<tenant>/<user>`) in a fixed window. Once a key reaches the limit every
 * attempt for it is refused with 429 ROWFENCE_RATE_LIMITED until the window ends, right password or not;
 * a success clears the user's key. In-memory: per process, which is what a brute-force brake needs.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, { count: number; resetAt: number }>()
  readonly #options: Required<LoginLimiterOptions>

  constructor(options: LoginLimiterOptions) {
    this.#options = { now: Date.now, ...options }
  }

  /** Throws when any of the keys is over the limit. */
  assertAllowed(keys: readonly string[]): void {
    const now = this.#options.now()
    for (const key of keys) {
      const entry = this.#failures.get(key)
      if (entry && entry.resetAt <= now) this.#failures.delete(key)
      else if (entry && entry.count >= this.#limitOf(key)) {
        throw new RowfenceError('ROWFENCE_RATE_LIMITED', {
          details: { retryAfterSeconds: Math.ceil((entry.resetAt - now) / 1000) },
        })
      }
    }
  }

  recordFailure(keys: readonly string[]): void {
    const now = this.#options.now()
    for (const key of keys) {
      const entry = this.#failures.get(key)
      if (!entry || entry.resetAt <= now)
        this.#failures.set(key, { count: 1, resetAt: now + this.#options.windowMs })
      else entry.count += 1
    }
    if (this.#failures.size > 100_000) this.#sweep(now)
  }

  clear(key: string): void {
    this.#failures.delete(key)
  }

  #limitOf(key: string): number {
    const limit = this.#options.maxFailures[key.slice(0, key.indexOf(':'))]
    if (limit === undefined) throw new TypeError(`No failure limit for the key kind of ${key}`)
    return limit
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#failures) if (entry.resetAt <= now) this.#failures.delete(key)
  }
}

/**
 * One login attempt behind the limiter: refused (429) while any key is over its limit, counted as a failure
 * when `authenticate` finds nobody (401 with `failureMessage`), and clearing the user's key on success.
 */
export async function attemptLogin<T>(
  limiter: LoginLimiter,
  keys: { readonly ip: string; readonly user: string },
  authenticate: () => Promise<T | null>,
  failureMessage: string,
): Promise<T> {
  const all = [keys.ip, keys.user]
  limiter.assertAllowed(all)
  const principal = await authenticate()
  if (principal === null) {
    limiter.recordFailure(all)
    throw new RowfenceError('ROWFENCE_UNAUTHENTICATED', { message: failureMessage })
  }
  limiter.clear(keys.user)
  return principal
}
