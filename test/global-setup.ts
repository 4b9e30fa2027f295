import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { loadMigrations, migrate, provisionDatabase } from '@rowfence/core'
import { demoMigrationsDir, seedDemo } from '@rowfence/demo'
import { loadEmbeddedPostgres } from '@rowfence/cli'
import { urlFor, type TestCluster } from './support/test-database.ts'

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/**
 * Starts one real PostgreSQL for the whole run: DATABASE_URL when set (it must be able to create roles
 * and databases, e.g. a superuser of a disposable server), else embedded PostgreSQL in a temp folder.
 * Then provisions the roles and a migrated, seeded template database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env['DATABASE_URL']
  let stopEmbedded = async (): Promise<void> => undefined
  if (!adminUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'rowfence-test-pg-'))
    await chmod(dir, 0o755) // PostgreSQL runs as its own user and must reach the data folder
    const password = randomBytes(16).toString('hex')
    const port = await freePort()
    const EmbeddedPostgres = await loadEmbeddedPostgres()
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password,
      persistent: false,
      createPostgresUser: true,
      initdbFlags: ['--no-sync'],
      postgresFlags: [
        '-c',
        'fsync=off',
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=300',
      ],
      onLog: () => undefined,
      onError: () => undefined,
    })
    await server.initialise()
    await server.start()
    stopEmbedded = async () => {
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    }
    adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`
  }

  const template = `rowfence_template_${randomBytes(4).toString('hex')}`
  const cluster: Omit<TestCluster, 'serverVersion'> = {
    adminUrl,
    ownerRole: 'rowfence_owner',
    ownerPassword: randomBytes(16).toString('hex'),
    appRole: 'rowfence_app',
    appPassword: randomBytes(16).toString('hex'),
    operatorRole: 'rowfence_admin',
    operatorPassword: randomBytes(16).toString('hex'),
    authRole: 'rowfence_auth',
    authPassword: randomBytes(16).toString('hex'),
    template,
  }
  const admin = new pg.Client(adminUrl)
  await admin.connect()
  let serverVersion = ''
  try {
    serverVersion = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version
    await provisionDatabase(admin, {
      ...cluster,
      database: template,
      extraRoles: [
        { role: cluster.operatorRole, password: cluster.operatorPassword },
        { role: cluster.authRole, password: cluster.authPassword },
      ],
    })
    const owner = new pg.Pool({
      connectionString: urlFor(adminUrl, cluster.ownerRole, cluster.ownerPassword, template),
      max: 1,
    })
    try {
      await migrate(owner, { migrations: await loadMigrations(demoMigrationsDir) })
      await seedDemo(owner)
    } finally {
      await owner.end()
    }
  } finally {
    await admin.end()
  }
  project.provide('cluster', { ...cluster, serverVersion })

  return async function teardown() {
    const client = new pg.Client(adminUrl)
    await client.connect()
    try {
      await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)
    } finally {
      await client.end()
    }
    await stopEmbedded()
  }
}
