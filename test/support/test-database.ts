import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { bindContextConfig, parseContextKey, type TenantContextConfig } from '@rowfence/core'
import { migrate } from '@rowfence/core/migrate'
import { plainContextMigrations, seedDemo } from '@rowfence/demo'
import { inject } from 'vitest'

/** What global-setup.ts provides to every test file (vitest `provide`/`inject`). */
export interface TestCluster {
  /** A superuser (or CREATEDB + CREATEROLE) connection to the `postgres` database. */
  readonly adminUrl: string
  readonly ownerRole: string
  readonly ownerPassword: string
  readonly appRole: string
  readonly appPassword: string
  /** rowfence_admin (platform operators) and rowfence_auth (login lookups). */
  readonly operatorRole: string
  readonly operatorPassword: string
  readonly authRole: string
  readonly authPassword: string
  /** A migrated, seeded database that per-file databases are copied from. */
  readonly template: string
  /** The signing key of this run (`<id>:<secret>`), installed in the template: the demo schema verifies a signed context. */
  readonly contextKey: string
  readonly serverVersion: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: TestCluster
  }
}

export function urlFor(adminUrl: string, user: string, password: string, database: string): string {
  const url = new URL(adminUrl)
  url.username = user
  url.password = password
  url.pathname = `/${database}`
  return url.toString()
}

/** The signed context the demo schema verifies, with the key of this test run. */
export function demoContextConfig(cluster: TestCluster): TenantContextConfig {
  return { signing: { key: parseContextKey(cluster.contextKey) } }
}

export interface TestDatabase {
  readonly name: string
  readonly cluster: TestCluster
  readonly ownerUrl: string
  readonly appUrl: string
  readonly operatorUrl: string
  readonly authUrl: string
  /**
   * The context config of the demo schema (the signed context, with this run's key); undefined for an
   * empty database. `pool()` binds it to every pool it opens (bindContextConfig).
   */
  readonly contextConfig: TenantContextConfig | undefined
  /** Pools opened through `pool()` are ended by `drop()`. `admin` is the superuser; `operator` is rowfence_admin. */
  pool(role: 'owner' | 'app' | 'admin' | 'operator' | 'auth', options?: pg.PoolConfig): pg.Pool
  drop(): Promise<void>
}

export interface CreateTestDatabaseOptions {
  /** `true`: a database with nothing in it (no migrations, no seed) instead of a copy of the template. */
  readonly empty?: boolean
  /**
   * `true`: the demo as it was before migration 0007 (the plain context: policies trust settings any
   * role can set), migrated and seeded: what the linter flags and the probes forge.
   */
  readonly plainContext?: boolean
}

/** A fresh copy of the migrated, seeded template (or an empty database): each test file gets its own. */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const cluster = inject('cluster')
  const name = `rowfence_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client(cluster.adminUrl)
  await admin.connect()
  try {
    const template = options.empty || options.plainContext ? 'template0' : cluster.template
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template} OWNER ${cluster.ownerRole}`)
    await admin.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`)
    await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${name} TO ${cluster.ownerRole}`)
    for (const role of [cluster.appRole, cluster.operatorRole, cluster.authRole]) {
      await admin.query(`GRANT CONNECT ON DATABASE ${name} TO ${role}`)
    }
  } finally {
    await admin.end()
  }
  const pools: pg.Pool[] = []
  const urls = {
    owner: urlFor(cluster.adminUrl, cluster.ownerRole, cluster.ownerPassword, name),
    app: urlFor(cluster.adminUrl, cluster.appRole, cluster.appPassword, name),
    operator: urlFor(cluster.adminUrl, cluster.operatorRole, cluster.operatorPassword, name),
    auth: urlFor(cluster.adminUrl, cluster.authRole, cluster.authPassword, name),
    admin: (() => {
      const url = new URL(cluster.adminUrl)
      url.pathname = `/${name}`
      return url.toString()
    })(),
  }
  if (options.plainContext) {
    const owner = new pg.Pool({ connectionString: urls.owner, max: 1 })
    try {
      await migrate(owner, { migrations: await plainContextMigrations() })
      await seedDemo(owner)
    } finally {
      await owner.end()
    }
  }
  const contextConfig = options.empty || options.plainContext ? undefined : demoContextConfig(cluster)
  return {
    name,
    cluster,
    contextConfig,
    ownerUrl: urls.owner,
    appUrl: urls.app,
    operatorUrl: urls.operator,
    authUrl: urls.auth,
    pool(role, options = {}) {
      const pool = new pg.Pool({ connectionString: urls[role], max: 5, ...options })
      pool.on('error', () => undefined)
      if (contextConfig) bindContextConfig(pool, contextConfig)
      pools.push(pool)
      return pool
    },
    async drop() {
      await Promise.all(pools.map((pool) => pool.end()))
      const client = new pg.Client(cluster.adminUrl)
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}
