import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { quoteIdentifier } from '@rowfence/core'
import { addContextKey, migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import type { CitusCluster, CitusRole } from '@rowfence/tools'

/**
 * The Citus leg's second database: the signed context in the Citus flavour (orgs as a reference table,
 * notes distributed by tenant, read by tenant and written by their author), the key installed on every
 * node by addContextKey, two tenants seeded. Migrated as the demo's owner role. The roles were created
 * in the demo database (see the role marking below).
 */
export const SIGNED_DATABASE = 'rowfence_signed'

export interface SignedCitusDatabase {
  readonly appUrl: string
  /** The owner role: it ran the migrations and owns the key table (addContextKey, retireContextKey). */
  readonly ownerUrl: string
  readonly superuserUrl: string
  readonly workerSuperuserUrls: readonly string[]
  readonly key: { readonly id: string; readonly secret: string }
  readonly tenants: readonly [SignedTenant, SignedTenant]
}

export interface SignedTenant {
  readonly tenantId: string
  readonly userId: string
  readonly noteId: string
}

const orgs = tenantsTable('orgs', { columns: { id: uuid().primaryKey(), name: text().notNull() } })
const notes = tenantTable('notes', {
  columns: { id: uuid().primaryKey().defaultRandom(), author_id: uuid().notNull(), body: text().notNull() },
  policies: { read: 'tenant', write: { ownerColumn: 'author_id' } },
})

function roleOf(url: string): CitusRole {
  const parsed = new URL(url)
  return { role: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
}

/** `ownerUrl` / `appUrl`: the demo database's role URLs (the roles are cluster-wide). */
export async function provisionSignedDatabase(
  cluster: CitusCluster,
  urls: { readonly ownerUrl: string; readonly appUrl: string },
): Promise<SignedCitusDatabase> {
  const owner = roleOf(urls.ownerUrl)
  const app = roleOf(urls.appUrl)
  const admin = new pg.Client(cluster.adminUrl())
  await admin.connect()
  try {
    await admin.query(
      `CREATE DATABASE ${quoteIdentifier(SIGNED_DATABASE)} OWNER ${quoteIdentifier(owner.role)}`,
    )
  } finally {
    await admin.end()
  }
  await cluster.prepareDatabase(SIGNED_DATABASE)
  await cluster.authorize(SIGNED_DATABASE, [owner, app])
  const schema = rowfenceSchema({
    tables: [orgs, notes],
    appRole: app.role,
    distributed: true,
    context: { signed: true },
  })
  const key = { id: 'citus1', secret: randomBytes(32).toString('hex') }
  // Citus marks a role as propagated per database: as the superuser, give each role an object here once
  // (its propagation then runs as the superuser), or the owner's first DDL fails on the workers with
  // "must be superuser to alter superuser roles" (measured).
  const setup = new pg.Client(cluster.adminUrl(SIGNED_DATABASE))
  await setup.connect()
  try {
    for (const { role } of [owner, app]) {
      await setup.query(`CREATE FUNCTION public.rowfence_mark_role() RETURNS int LANGUAGE sql AS 'SELECT 1'`)
      await setup.query(`ALTER FUNCTION public.rowfence_mark_role() OWNER TO ${quoteIdentifier(role)}`)
      await setup.query('DROP FUNCTION public.rowfence_mark_role()')
    }
  } finally {
    await setup.end()
  }
  const ownerPool = new pg.Pool({ connectionString: cluster.url(owner, SIGNED_DATABASE), max: 1 })
  try {
    await migrate(ownerPool, {
      migrations: [migrationFrom('0001_signed_notes', renderSchema(schema))],
      statementByStatement: true,
    })
    await addContextKey(ownerPool, key)
  } finally {
    await ownerPool.end()
  }
  const tenants = [0, 1].map(() => ({
    tenantId: crypto.randomUUID(),
    userId: crypto.randomUUID(),
    noteId: crypto.randomUUID(),
  })) as unknown as [SignedTenant, SignedTenant]
  const superuser = new pg.Client(cluster.adminUrl(SIGNED_DATABASE))
  await superuser.connect()
  try {
    for (const [index, tenant] of tenants.entries()) {
      await superuser.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [tenant.tenantId, `org ${index}`])
      await superuser.query('INSERT INTO notes (tenant_id, id, author_id, body) VALUES ($1, $2, $3, $4)', [
        tenant.tenantId,
        tenant.noteId,
        tenant.userId,
        `note of org ${index}`,
      ])
    }
  } finally {
    await superuser.end()
  }
  return {
    appUrl: cluster.url(app, SIGNED_DATABASE),
    ownerUrl: cluster.url(owner, SIGNED_DATABASE),
    superuserUrl: cluster.adminUrl(SIGNED_DATABASE),
    workerSuperuserUrls: cluster.workers.map((worker) => cluster.adminUrl(SIGNED_DATABASE, worker)),
    key,
    tenants,
  }
}
