import type { Pool } from 'pg'
import { burnPasswordCheck, verifyPassword } from './passwords.ts'

export interface AuthenticatedUser {
  readonly tenantId: string
  readonly userId: string
  readonly tenantName: string
  readonly userName: string
}

/**
 * Tenant name + user name + password -> the user, or null. Runs on the login role's pool (rowfence_auth),
 * whose only privilege is reading tenant names and users' password hashes. An unknown user costs as much
 * time as a wrong password.
 */
export async function authenticateUser(
  authPool: Pool,
  credentials: { tenant: string; user: string; password: string },
): Promise<AuthenticatedUser | null> {
  const { rows } = await authPool.query<{ tenant_id: string; user_id: string; password_hash: string }>({
    name: 'demo_login_lookup',
    text: `SELECT t.id AS tenant_id, u.id AS user_id, u.password_hash
             FROM tenants t JOIN users u ON u.tenant_id = t.id
            WHERE t.name = $1 AND u.name = $2`,
    values: [credentials.tenant, credentials.user],
  })
  const row = rows[0]
  if (!row) return burnPasswordCheck(credentials.password).then(() => null)
  if (!(await verifyPassword(credentials.password, row.password_hash))) return null
  return {
    tenantId: row.tenant_id,
    userId: row.user_id,
    tenantName: credentials.tenant,
    userName: credentials.user,
  }
}

export interface AuthenticatedOperator {
  readonly operatorId: string
  readonly name: string
}

/** Operator name + password -> the operator, or null; runs on the admin role's pool. */
export async function authenticateOperator(
  adminPool: Pool,
  credentials: { name: string; password: string },
): Promise<AuthenticatedOperator | null> {
  const { rows } = await adminPool.query<{ id: string; password_hash: string }>(
    'SELECT id, password_hash FROM platform_operators WHERE name = $1',
    [credentials.name],
  )
  const row = rows[0]
  if (!row) return burnPasswordCheck(credentials.password).then(() => null)
  if (!(await verifyPassword(credentials.password, row.password_hash))) return null
  return { operatorId: row.id, name: credentials.name }
}
