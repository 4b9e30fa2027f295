import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { quoteIdentifier } from '@rowfence/core'
import { loadMigrations, migrate, provisionDatabase } from '@rowfence/core/migrate'
import { CITUS_INSTALL_HINT, CitusCluster, findCitus, type CitusRole } from '@rowfence/tools'
import { CliError } from '@rowfence/cli'
import { demoCitusMigrationsDir } from '../migrations-dir.ts'
import { ADMIN_ROLE, APP_ROLE, AUTH_ROLE, DATABASE_NAME, OWNER_ROLE } from '../roles.ts'
import { seedDemo, type SeedCounts } from '../seed.ts'
import type { DatabaseEnvironment } from './embedded.ts'

async function onCoordinator(url: string, fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    await fn(client)
  } finally {
    await client.end()
  }
}

/** The demo database on a Citus cluster: the role URLs on the coordinator. */
export interface CitusDemoDatabase {
  readonly database: string
  readonly ownerUrl: string
  readonly appUrl: string
  readonly adminUrl: string
  readonly authUrl: string
  /** The superuser on the coordinator, in the demo database. */
  readonly superuserUrl: string
  readonly migrationsApplied: number
  readonly seeded: SeedCounts
}

/**
 * Provisions the demo's roles and database on a running Citus cluster, makes the database a Citus
 * database on every node, migrates the Citus flavour of the schema (apps/demo/migrations-citus) and seeds
 * it through the set-local context mode. The tenant-acting roles get `citus.propagate_set_commands =
 * 'local'`, which makes Citus forward the context's `SET LOCAL` to the workers.
 */
export async function provisionCitusDemo(
  cluster: CitusCluster,
  options: { database?: string | undefined } = {},
): Promise<CitusDemoDatabase> {
  const database = options.database ?? DATABASE_NAME
  const password = () => randomBytes(16).toString('hex')
  const roles = {
    owner: { role: OWNER_ROLE, password: password() },
    app: { role: APP_ROLE, password: password() },
    admin: { role: ADMIN_ROLE, password: password() },
    auth: { role: AUTH_ROLE, password: password() },
  } satisfies Record<string, CitusRole>
  // Citus tracks which roles exist on the workers per database: roles created while connected to the
  // Citus database are propagated and tracked there, so the database (and its extension and nodes) comes
  // first, owned by the superuser until the owner role exists.
  await onCoordinator(cluster.adminUrl(), async (admin) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (!rowCount) await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`)
  })
  await cluster.prepareDatabase(database)
  await onCoordinator(cluster.adminUrl(database), async (admin) => {
    await provisionDatabase(admin, {
      ownerRole: roles.owner.role,
      ownerPassword: roles.owner.password,
      appRole: roles.app.role,
      appPassword: roles.app.password,
      database,
      extraRoles: [roles.admin, roles.auth],
    })
    await admin.query(
      `ALTER DATABASE ${quoteIdentifier(database)} OWNER TO ${quoteIdentifier(roles.owner.role)}`,
    )
    for (const { role } of Object.values(roles)) {
      await admin.query(`ALTER ROLE ${quoteIdentifier(role)} SET citus.propagate_set_commands = 'local'`)
    }
  })
  await cluster.authorize(database, Object.values(roles))
  await cluster.grantConnect(
    database,
    Object.values(roles).map((role) => role.role),
  )
  const owner = new pg.Pool({ connectionString: cluster.url(roles.owner, database), max: 2 })
  let applied: readonly unknown[]
  let seeded: SeedCounts
  try {
    ;({ applied } = await migrate(owner, {
      migrations: await loadMigrations(demoCitusMigrationsDir),
      statementByStatement: true,
    }))
    seeded = await seedDemo(owner, { contextMode: 'set-local' })
  } finally {
    await owner.end()
  }
  return {
    database,
    ownerUrl: cluster.url(roles.owner, database),
    appUrl: cluster.url(roles.app, database),
    adminUrl: cluster.url(roles.admin, database),
    authUrl: cluster.url(roles.auth, database),
    superuserUrl: cluster.adminUrl(database),
    migrationsApplied: applied.length,
    seeded,
  }
}

/**
 * `rowfence-demo citus`: a fresh local cluster (coordinator + 2 workers) under `<home>/citus`, the demo
 * database migrated and seeded on it. The cluster is re-created on every start; close() stops it.
 */
export async function startCitusEnvironment(
  home: string,
  log: (line: string) => void,
): Promise<DatabaseEnvironment> {
  const bin = await findCitus()
  if (!bin) throw new CliError('ROWFENCE_DATABASE_UNAVAILABLE', CITUS_INSTALL_HINT)
  const dir = join(home, 'citus')
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true })
  log(`Starting a Citus cluster (coordinator + 2 workers) in ${dir} ...`)
  const cluster = await CitusCluster.start({ bin, dir })
  try {
    const demo = await provisionCitusDemo(cluster)
    log(
      `Citus coordinator on 127.0.0.1:${cluster.coordinator.port}, workers on ` +
        `${cluster.workers.map((worker) => worker.port).join(', ')}; ` +
        `migrations applied: ${demo.migrationsApplied}`,
    )
    return {
      ownerUrl: demo.ownerUrl,
      appUrl: demo.appUrl,
      adminUrl: demo.adminUrl,
      authUrl: demo.authUrl,
      embedded: true,
      citus: true,
      close: () => cluster.stop({ remove: false }),
    }
  } catch (error) {
    await cluster.stop({ remove: false })
    throw error
  }
}
