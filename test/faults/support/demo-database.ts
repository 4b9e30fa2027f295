import { randomBytes } from 'node:crypto'
import pg from 'pg'
import {
  bindContextConfig,
  formatContextKey,
  generateContextKey,
  parseContextKey,
  withTenant,
} from '@rowfence/core'
import { addContextKey, loadMigrations, migrate, provisionDatabase } from '@rowfence/core/migrate'
import { demoMigrationsDir, demoUuid, seedDemo, signToken } from '@rowfence/demo'
import { connectionUrl } from '@rowfence/tools'

export interface LoadTenant {
  readonly id: string
  readonly name: string
  readonly token: string
  /** The item titles the tenant owns (all of them start with the tenant's name). */
  readonly itemCount: number
}

export interface DemoDatabase {
  readonly ownerUrl: string
  readonly appUrl: string
  readonly appRole: string
  readonly appPassword: string
  readonly database: string
  readonly jwtSecret: string
  /** The key the demo schema's signed context verifies (`<id>:<secret>`, for ROWFENCE_CONTEXT_KEY), installed. */
  readonly contextKey: string
  readonly tenants: readonly LoadTenant[]
}

const ITEMS_PER_TENANT = 3

/**
 * Provisions the demo database on a server (owner + app roles), migrates, seeds the demo data plus
 * `tenantCount` load tenants with a few items each, and signs an API token for every load tenant.
 */
export async function createDemoDatabase(options: {
  adminUrl: string
  port: number
  tenantCount: number
}): Promise<DemoDatabase> {
  const database = `rowfence_faults_${randomBytes(4).toString('hex')}`
  const setup = {
    ownerRole: 'rowfence_owner',
    ownerPassword: randomBytes(16).toString('hex'),
    appRole: 'rowfence_app',
    appPassword: randomBytes(16).toString('hex'),
    database,
    extraRoles: [
      { role: 'rowfence_admin', password: randomBytes(16).toString('hex') },
      { role: 'rowfence_auth', password: randomBytes(16).toString('hex') },
    ],
  }
  const admin = new pg.Client(options.adminUrl)
  await admin.connect()
  try {
    await provisionDatabase(admin, setup)
  } finally {
    await admin.end()
  }
  const url = (user: string, password: string) =>
    connectionUrl({ user, password, port: options.port, database })
  const ownerUrl = url(setup.ownerRole, setup.ownerPassword)
  const owner = new pg.Pool({ connectionString: ownerUrl, max: 4 })
  owner.on('error', () => undefined) // a connection still closing when the server stops (see pooler-cost.ts)
  const jwtSecret = randomBytes(32).toString('hex')
  const contextKey = formatContextKey(generateContextKey({ prefix: 'faults-' }))
  const tenants: LoadTenant[] = []
  try {
    await migrate(owner, { migrations: await loadMigrations(demoMigrationsDir) })
    const key = parseContextKey(contextKey)
    await addContextKey(owner, key)
    bindContextConfig(owner, { signing: { key } })
    await seedDemo(owner)
    const ids = Array.from({ length: options.tenantCount }, (_, n) => ({
      id: demoUuid(`load-tenant:${n}`),
      name: `load${String(n).padStart(4, '0')}`,
    }))
    for (let start = 0; start < ids.length; start += 4) {
      await Promise.all(
        ids.slice(start, start + 4).map((tenant) =>
          withTenant(owner, { tenantId: tenant.id }, async (tx) => {
            await tx.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
              tenant.id,
              tenant.name,
            ])
            await tx.query(
              `INSERT INTO items (tenant_id, title)
               SELECT $1, $2 || ' item ' || n FROM generate_series(1, ${ITEMS_PER_TENANT}) AS n
               ON CONFLICT DO NOTHING`,
              [tenant.id, tenant.name],
            )
          }),
        ),
      )
    }
    for (const tenant of ids) {
      const token = await signToken({
        secret: jwtSecret,
        tenantId: tenant.id,
        subject: 'load',
        expiresIn: '2h',
      })
      tenants.push({ ...tenant, token, itemCount: ITEMS_PER_TENANT })
    }
  } finally {
    await owner.end()
  }
  return {
    ownerUrl,
    appUrl: url(setup.appRole, setup.appPassword),
    appRole: setup.appRole,
    appPassword: setup.appPassword,
    database,
    jwtSecret,
    contextKey,
    tenants,
  }
}
