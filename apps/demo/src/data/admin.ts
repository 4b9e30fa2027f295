import type { Pool, PoolClient } from 'pg'
import { inTransaction, withClient } from '@rowfence/core'
import type { AdminTenant, AuditEntry } from '../pages/admin-pages.ts'

export interface AuditedRequest {
  readonly operatorId: string
  readonly method: string
  /** The route pattern that served the request (`/admin`), whatever spelling the URL used. */
  readonly route: string
  /** The percent-decoded path without the query string. */
  readonly path: string
}

/**
 * Runs an operator's reads and writes the audit row in the SAME transaction, on the admin role's pool:
 * if the audit row cannot be written, the reads are not served either. `touch` records which tenants the
 * request saw.
 */
export async function withAudit<T>(
  adminPool: Pool,
  audited: AuditedRequest,
  fn: (client: PoolClient, touch: (tenantIds: readonly string[]) => void) => Promise<T>,
): Promise<T> {
  return withClient(adminPool, (client) => {
    const touched = new Set<string>()
    return inTransaction(client, async () => {
      const result = await fn(client, (tenantIds) => tenantIds.forEach((id) => touched.add(id)))
      await client.query(
        'INSERT INTO admin_audit (operator_id, method, route, path, tenants) VALUES ($1, $2, $3, $4, $5)',
        [audited.operatorId, audited.method, audited.route, audited.path, [...touched]],
      )
      return result
    })
  })
}

export async function allTenants(client: PoolClient): Promise<AdminTenant[]> {
  const { rows } = await client.query<{
    id: string
    name: string
    user_name: string | null
    title: string | null
    pages: number | null
  }>(
    `SELECT t.id, t.name, u.name AS user_name, a.title, a.pages
       FROM tenants t
       LEFT JOIN users u ON u.tenant_id = t.id
       LEFT JOIN articles a ON a.tenant_id = u.tenant_id AND a.user_id = u.id
      ORDER BY t.name, u.name, a.title`,
  )
  const tenants = new Map<string, AdminTenant>()
  for (const row of rows) {
    let tenant = tenants.get(row.id)
    if (!tenant) tenants.set(row.id, (tenant = { id: row.id, name: row.name, users: [] }))
    if (row.user_name === null) continue
    let user = tenant.users.find((candidate) => candidate.name === row.user_name)
    if (!user) tenant.users.push((user = { name: row.user_name, articles: [] }))
    if (row.title !== null) user.articles.push({ title: row.title, pages: row.pages ?? 0 })
  }
  return [...tenants.values()]
}

export async function auditLog(client: PoolClient, limit = 200): Promise<AuditEntry[]> {
  const { rows } = await client.query<AuditEntry>(
    `SELECT a.id::text, o.name AS operator, a.at, a.method, a.route, a.path, a.tenants::text[] AS tenants
       FROM admin_audit a JOIN platform_operators o ON o.id = a.operator_id
      ORDER BY a.id DESC LIMIT $1`,
    [limit],
  )
  return rows
}
