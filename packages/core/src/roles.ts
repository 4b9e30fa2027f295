import type { ClientBase } from 'pg'

export interface DatabaseSetup {
  /** Owns the schema and runs migrations. */
  readonly ownerRole: string
  readonly ownerPassword: string
  /** The only role the application connects as: DML grants, no ownership, no BYPASSRLS. */
  readonly appRole: string
  readonly appPassword: string
  readonly database: string
  /** More login roles that may only connect (e.g. an admin and a login-lookup role with their own policies). */
  readonly extraRoles?: readonly { readonly role: string; readonly password: string }[] | undefined
}

/** Builds a statement server-side with format(%I, %L) so names and passwords are quoted by PostgreSQL. */
async function execFormatted(client: ClientBase, template: string, ...args: string[]): Promise<void> {
  const { rows } = await client.query<{ sql: string }>(
    `SELECT format($1, ${args.map((_, i) => `$${i + 2}::text`).join(', ')}) AS sql`,
    [template, ...args],
  )
  await client.query(rows[0]!.sql)
}

async function ensureLoginRole(client: ClientBase, role: string, password: string): Promise<void> {
  if (typeof password !== 'string' || password.length < 16) {
    throw new TypeError(`The password for role ${role} must be a string of at least 16 characters`)
  }
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])
  const verb = rowCount ? 'ALTER' : 'CREATE'
  await execFormatted(
    client,
    `${verb} ROLE %I WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L`,
    role,
    password,
  )
}

/**
 * Creates (or repairs) the owner and app login roles and the database owned by the owner role. Needs a
 * superuser or a role with CREATEROLE and CREATEDB; idempotent. `adminClient` is connected to any
 * database other than the one being created.
 */
export async function provisionDatabase(adminClient: ClientBase, setup: DatabaseSetup): Promise<void> {
  await ensureLoginRole(adminClient, setup.ownerRole, setup.ownerPassword)
  await ensureLoginRole(adminClient, setup.appRole, setup.appPassword)
  for (const extra of setup.extraRoles ?? []) await ensureLoginRole(adminClient, extra.role, extra.password)
  const { rowCount } = await adminClient.query('SELECT 1 FROM pg_database WHERE datname = $1', [
    setup.database,
  ])
  if (!rowCount)
    await execFormatted(adminClient, 'CREATE DATABASE %I OWNER %I', setup.database, setup.ownerRole)
  await execFormatted(adminClient, 'REVOKE ALL ON DATABASE %I FROM PUBLIC', setup.database)
  await execFormatted(
    adminClient,
    'GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I',
    setup.database,
    setup.ownerRole,
  )
  for (const role of [setup.appRole, ...(setup.extraRoles ?? []).map((extra) => extra.role)]) {
    await execFormatted(adminClient, 'GRANT CONNECT ON DATABASE %I TO %I', setup.database, role)
  }
}
