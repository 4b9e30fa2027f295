import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { migrate, provisionDatabase } from '@rowfence/core/migrate'
import { ADMIN_ROLE, APP_ROLE, AUTH_ROLE, OWNER_ROLE, plainContextMigrations } from '@rowfence/demo'
import { connectionUrl, freePort, startTemporaryPostgres } from '@rowfence/tools'

export interface BenchDatabase {
  /** Owner role: migrations and the data load. */
  readonly ownerUrl: string
  /** App role: everything the server and the library scenarios do. */
  readonly appUrl: string
  readonly appRole: string
  readonly embedded: boolean
  /** PostgreSQL settings the report records. */
  readonly settings: Readonly<Record<string, string>>
  close(): Promise<void>
}

export { freePort }

/**
 * Server settings of the temporary cluster. fsync is off because the cluster is thrown away (it only
 * speeds up the load; the measured phases read); shared_buffers holds the whole data set so no
 * scenario waits on the disk. Everything else is PostgreSQL's default.
 */
const EMBEDDED_SETTINGS: Record<string, string> = {
  fsync: 'off',
  shared_buffers: '512MB',
  max_connections: '200',
}

/**
 * DATABASE_URL (owner role) + APP_DATABASE_URL (app role), or a temporary embedded PostgreSQL in a
 * fresh folder on a free port, removed afterwards. Migrations are applied either way.
 */
export async function openBenchDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  const ownerUrl = process.env['DATABASE_URL'] || undefined
  const appUrl = process.env['APP_DATABASE_URL'] || undefined
  let database: Omit<BenchDatabase, 'settings'>
  if (ownerUrl) {
    if (!appUrl) throw new Error('APP_DATABASE_URL is required with DATABASE_URL (the app role)')
    database = {
      ownerUrl,
      appUrl,
      appRole: decodeURIComponent(new URL(appUrl).username),
      embedded: false,
      close: async () => undefined,
    }
  } else {
    database = await startEmbedded(log)
  }
  try {
    const owner = new pg.Pool({ connectionString: database.ownerUrl, max: 1 })
    try {
      // The plain context (the demo before 0007): the mechanism with the library's defaults; the signed
      // context the demo runs is measured last (phases/signed-http.ts) and by `npm run bench:signed`.
      await migrate(owner, { migrations: await plainContextMigrations() })
    } finally {
      await owner.end()
    }
    return { ...database, settings: await readSettings(database.appUrl) }
  } catch (error) {
    await database.close()
    throw error
  }
}

async function readSettings(url: string): Promise<Record<string, string>> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings
        WHERE name = ANY($1) ORDER BY name`,
      [
        [
          'server_version',
          'fsync',
          'shared_buffers',
          'max_connections',
          'jit',
          'work_mem',
          'synchronous_commit',
        ],
      ],
    )
    return Object.fromEntries(rows.map((row) => [row.name, row.setting]))
  } finally {
    await client.end()
  }
}

async function startEmbedded(log: (line: string) => void): Promise<Omit<BenchDatabase, 'settings'>> {
  const server = await startTemporaryPostgres({ label: 'bench', settings: EMBEDDED_SETTINGS })
  log(`started embedded PostgreSQL on port ${server.port} in ${server.dir}`)
  const { port } = server
  const close = () => server.stop()
  const ownerPassword = randomBytes(16).toString('hex')
  const appPassword = randomBytes(16).toString('hex')
  const database = 'rowfence_bench'
  const admin = new pg.Client(server.adminUrl)
  try {
    await admin.connect()
    await provisionDatabase(admin, {
      ownerRole: OWNER_ROLE,
      ownerPassword,
      appRole: APP_ROLE,
      appPassword,
      database,
      // The demo's migrations also grant to the platform-admin and login roles.
      extraRoles: [ADMIN_ROLE, AUTH_ROLE].map((role) => ({
        role,
        password: randomBytes(16).toString('hex'),
      })),
    })
  } catch (error) {
    await close()
    throw error
  } finally {
    await admin.end().catch(() => undefined)
  }
  return {
    ownerUrl: connectionUrl({ user: OWNER_ROLE, password: ownerPassword, port, database }),
    appUrl: connectionUrl({ user: APP_ROLE, password: appPassword, port, database }),
    appRole: APP_ROLE,
    embedded: true,
    close,
  }
}
