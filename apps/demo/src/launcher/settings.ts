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
  /** Fastify trustProxy: `1`/`true` trusts any proxy, other values are passed on (addresses, CIDRs, hop count). */
  readonly trustProxy: boolean | string
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
    trustProxy: !env['TRUST_PROXY']
      ? false
      : ['1', 'true'].includes(env['TRUST_PROXY'])
        ? true
        : env['TRUST_PROXY'],
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
