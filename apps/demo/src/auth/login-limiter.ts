import type { Pool } from 'pg'
import { DemoError } from '../errors.ts'
import { HashGate } from './hash-gate.ts'

/** A key a login attempt counts against, and how many failures it may collect per window. */
export interface LimitedKey {
  readonly key: string
  readonly maxFailures: number
}

export interface LoginAttemptKeys {
  /** Every key the attempt counts against (address, user + address, ...). */
  readonly limited: readonly LimitedKey[]
  /** The keys a success starts again from zero: the user + address that just proved the password. */
  readonly clearedOnSuccess: readonly string[]
}

export interface LoginLimiterOptions {
  readonly windowSeconds: number
  /** Password checks (scrypt, ~32 MiB each) running at once in this process; more wait in line. */
  readonly maxConcurrentHashes?: number
  /** Attempts waiting for a password check; beyond that they are refused with 503 at once. */
  readonly maxQueuedHashes?: number
}

/**
 * Failed-login limits kept in PostgreSQL, so that they hold across every server process. An attempt first
 * reserves one failure on each of its keys in one statement (rowfence.login_attempt_reserve: row locks,
 * taken in key order); only then is the password hashed. Parallel requests therefore cannot all pass a
 * check made before any of them is counted. A success gives the reservation back and clears the user +
 * address key. Keys are per address and per user + address (never per user alone), so nobody can lock
 * a user out of every address; operators have a key space of their own.
 */
export class LoginLimiter {
  readonly #windowSeconds: number
  readonly #gate: HashGate

  constructor(options: LoginLimiterOptions) {
    this.#windowSeconds = options.windowSeconds
    this.#gate = new HashGate(options.maxConcurrentHashes ?? 4, options.maxQueuedHashes ?? 64)
  }

  /**
   * One login attempt: refused (429 ROWFENCE_RATE_LIMITED, `retryAfterSeconds`) while any key is over
   * its limit, counted as a failure when `authenticate` finds nobody (401 with `failureMessage`).
   */
  async attempt<T>(
    pool: Pool,
    keys: LoginAttemptKeys,
    authenticate: () => Promise<T | null>,
    failureMessage: string,
  ): Promise<T> {
    const names = keys.limited.map((entry) => entry.key)
    const { rows } = await pool.query<{ retry: number }>(
      'SELECT rowfence.login_attempt_reserve($1::text[], $2::int[], $3) AS retry',
      [names, keys.limited.map((entry) => entry.maxFailures), this.#windowSeconds],
    )
    const retry = rows[0]?.retry ?? 0
    if (retry > 0) throw new DemoError('ROWFENCE_RATE_LIMITED', { details: { retryAfterSeconds: retry } })
    const principal = await this.#gate.run(authenticate)
    if (principal === null) throw new DemoError('ROWFENCE_UNAUTHENTICATED', { message: failureMessage })
    await pool.query('SELECT rowfence.login_attempt_succeeded($1::text[], $2::text[])', [
      names,
      keys.clearedOnSuccess,
    ])
    return principal
  }
}

/** Failures allowed per window: per client address, and per user (or operator) from one address. */
export const LOGIN_LIMITS = { address: 20, userAtAddress: 5 } as const
export const LOGIN_WINDOW_SECONDS = 15 * 60

/**
 * The keys of a tenant user's login. The user's own key includes the address: failures from elsewhere
 * slow down whoever sends them, never the user at their own address.
 */
export function tenantLoginKeys(ip: string, credentials: { tenant: string; user: string }): LoginAttemptKeys {
  const user = `user:${JSON.stringify([credentials.tenant, credentials.user, ip])}`
  return {
    limited: [
      { key: `ip:${ip}`, maxFailures: LOGIN_LIMITS.address },
      { key: user, maxFailures: LOGIN_LIMITS.userAtAddress },
    ],
    clearedOnSuccess: [user],
  }
}

/** Operators' keys: a key space of their own, which no tenant login (whatever its tenant name) reaches. */
export function operatorLoginKeys(ip: string, name: string): LoginAttemptKeys {
  const operator = `operator:${JSON.stringify([name, ip])}`
  return {
    limited: [
      { key: `ip:${ip}`, maxFailures: LOGIN_LIMITS.address },
      { key: operator, maxFailures: LOGIN_LIMITS.userAtAddress },
    ],
    clearedOnSuccess: [operator],
  }
}
