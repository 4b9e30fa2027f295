import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { provisionDatabase } from '@rowfence/core/migrate'
import { connectionUrl, loadEmbeddedPostgres } from '@rowfence/tools'
import { CliError } from '@rowfence/cli'
import { ADMIN_ROLE, APP_ROLE, AUTH_ROLE, DATABASE_NAME, OWNER_ROLE } from '../roles.ts'
import type { LocalConfig } from './home.ts'
import { readSettings } from './settings.ts'

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
  /** A Citus cluster (rowfence-demo citus): already migrated and seeded; the context goes out as SET LOCAL. */
  readonly citus?: boolean | undefined
  close(): Promise<void>
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
