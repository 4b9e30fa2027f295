import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { bindContextConfig, formatContextKey, generateContextKey, parseContextKey } from '@rowfence/core'
import { addContextKey, loadMigrations, migrate, provisionDatabase } from '@rowfence/core/migrate'
import { demoMigrationsDir, seedDemo } from '@rowfence/demo'
import { startTemporaryPostgres } from '@rowfence/tools'
import { urlFor, type TestCluster } from './support/test-database.ts'

/**
 * Starts one real PostgreSQL for the whole run: DATABASE_URL when set (it must be able to create roles
 * and databases, e.g. a superuser of a disposable server), else embedded PostgreSQL in a temp folder.
 * Then provisions the roles and a migrated, seeded template database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env['DATABASE_URL']
  let stopEmbedded = async (): Promise<void> => undefined
  if (!adminUrl) {
    const server = await startTemporaryPostgres({ label: 'test', settings: { max_connections: 300 } })
    stopEmbedded = () => server.stop()
    adminUrl = server.adminUrl
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
    // The demo schema verifies a signed context (migration 0007): the key of this run, installed in the template.
    contextKey: formatContextKey(generateContextKey({ prefix: 'test-' })),
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
      const key = parseContextKey(cluster.contextKey)
      await addContextKey(owner, key)
      bindContextConfig(owner, { signing: { key } })
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
