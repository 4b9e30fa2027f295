import { CliError } from '@rowfence/cli'

/** Every environment variable the CLI reads, in one place. An empty value counts as unset. */
export interface Settings {
  readonly databaseUrl: string | undefined
  readonly appDatabaseUrl: string | undefined
  readonly adminDatabaseUrl: string | undefined
  readonly authDatabaseUrl: string | undefined
  readonly host: string
  readonly port: number
  readonly logLevel: string
  readonly poolSize: number
  readonly trustTenantHeader: boolean
  /** Which proxy's X-Forwarded-* to believe: a hop count, or proxy addresses/CIDRs; false: none. */
  readonly trustProxy: TrustProxy
  readonly embeddedPort: number | undefined
  readonly debug: boolean
  /** ROWFENCE_POOLER_MODE=1: unnamed statements only, for transaction-mode poolers without prepared statements. */
  readonly poolerMode: boolean
  /** PG_CONNECT_TIMEOUT_MS: how long a request waits for a pooled connection before a 503 (default 2000). */
  readonly connectTimeoutMs: number
  /** PG_STATEMENT_TIMEOUT_MS: statement_timeout of the app role's sessions (default 5000; 0: not sent). */
  readonly statementTimeoutMs: number
  /** PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: idle_in_transaction_session_timeout (default 10000; 0: not sent). */
  readonly idleInTransactionTimeoutMs: number
  /** HTTP_IDLE_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS / HTTP_KEEP_ALIVE_TIMEOUT_MS: see HttpTimeouts. */
  readonly httpIdleTimeoutMs: number | undefined
  readonly httpRequestTimeoutMs: number | undefined
  readonly httpKeepAliveTimeoutMs: number | undefined
  /** SHUTDOWN_TIMEOUT_MS: how long SIGTERM waits for in-flight requests before closing their sockets (default 10000). */
  readonly shutdownTimeoutMs: number
}

/** false, a hop count (1 = the one proxy in front), or the proxies' addresses/CIDRs. Never "every hop". */
export type TrustProxy = false | number | readonly string[]

/**
 * TRUST_PROXY: unset/0/false = no proxy; an integer n = trust n hops (the nearest proxies); otherwise a
 * comma-separated list of proxy addresses or CIDRs (`10.0.0.1, 10.1.0.0/16`). `true` is refused: trusting
 * every hop lets any client choose its own address with X-Forwarded-For.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = raw?.trim() ?? ''
  if (value === '' || value === '0' || value === 'false') return false
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    if (hops <= 32) return hops
  }
  const entries = value.split(',').map((entry) => entry.trim())
  const address = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)(?:\/[0-9]{1,3})?$/
  const named = new Set(['loopback', 'linklocal', 'uniquelocal'])
  if (entries.every((entry) => address.test(entry) || named.has(entry))) return entries
  throw new CliError(
    'ROWFENCE_CONFIG_INVALID',
    'TRUST_PROXY must be a hop count (1 = one proxy in front) or proxy addresses/CIDRs separated by commas',
    { exitCode: 2 },
  )
}

const logLevels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name]
  if (!raw) return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CliError('ROWFENCE_CONFIG_INVALID', `${name} must be an integer from ${min} to ${max}`, {
      exitCode: 2,
    })
  }
  return value
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const logLevel = env['LOG_LEVEL'] || 'info'
  if (!logLevels.has(logLevel)) {
    throw new CliError('ROWFENCE_CONFIG_INVALID', `LOG_LEVEL must be one of ${[...logLevels].join(', ')}`, {
      exitCode: 2,
    })
  }
  return {
    databaseUrl: env['DATABASE_URL'] || undefined,
    appDatabaseUrl: env['APP_DATABASE_URL'] || undefined,
    adminDatabaseUrl: env['ADMIN_DATABASE_URL'] || undefined,
    authDatabaseUrl: env['AUTH_DATABASE_URL'] || undefined,
    host: env['HOST'] || '127.0.0.1',
    port: integer(env, 'PORT', 0, 65535) ?? 3000,
    logLevel,
    poolSize: integer(env, 'PG_POOL_SIZE', 1, 1000) ?? 10,
    trustTenantHeader: env['ROWFENCE_TRUST_TENANT_HEADER'] === '1',
    trustProxy: parseTrustProxy(env['TRUST_PROXY']),
    embeddedPort: integer(env, 'ROWFENCE_PG_PORT', 1, 65535),
    debug: Boolean(env['ROWFENCE_DEBUG']),
    poolerMode: ['1', 'true'].includes(env['ROWFENCE_POOLER_MODE'] ?? ''),
    connectTimeoutMs: integer(env, 'PG_CONNECT_TIMEOUT_MS', 1, 600_000) ?? 2000,
    statementTimeoutMs: integer(env, 'PG_STATEMENT_TIMEOUT_MS', 0, 86_400_000) ?? 5000,
    idleInTransactionTimeoutMs: integer(env, 'PG_IDLE_IN_TRANSACTION_TIMEOUT_MS', 0, 86_400_000) ?? 10_000,
    httpIdleTimeoutMs: integer(env, 'HTTP_IDLE_TIMEOUT_MS', 1, 3_600_000),
    httpRequestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 1, 3_600_000),
    httpKeepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 1, 3_600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 0, 3_600_000) ?? 10_000,
  }
}
