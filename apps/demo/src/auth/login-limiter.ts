import { RowfenceError } from '@rowfence/core'

export interface LoginLimiterOptions {
  /** Failures allowed per key within the window before further attempts are refused. */
  readonly maxFailures: number
  readonly windowMs: number
  readonly now?: () => number
}

/**
 * Counts failed logins per key (an IP, a tenant+user) in a fixed window. Once a key reaches the limit every
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
      else if (entry && entry.count >= this.#options.maxFailures) {
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

  #sweep(now: number): void {
    for (const [key, entry] of this.#failures) if (entry.resetAt <= now) this.#failures.delete(key)
  }
}
