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
  }
}
