import type { TenantQueryable } from '@rowfence/core'

export interface UserSummary {
  id: string
  name: string
  created_at: Date
  article_count: number
  page_sum: number
  article_titles: string[]
}

export interface StorageReport {
  tables: { table: string; rows: number; bytes: number }[]
  total: { rows: number; bytes: number }
}

export async function listUsers(tx: TenantQueryable): Promise<UserSummary[]> {
  // count() and sum() are bigint: an int cast overflows past 2^31 - 1 pages. pg returns bigint as text;
  // the per-user quota keeps a user's totals far below 2^53, so Number() is exact.
  const { rows } = await tx.query<
    Omit<UserSummary, 'article_count' | 'page_sum'> & {
      article_count: string
      page_sum: string
    }
  >({
    name: 'demo_users_list',
    text: `SELECT u.id, u.name, u.created_at, count(a.id) AS article_count,
                  COALESCE(sum(a.pages), 0)::bigint AS page_sum,
                  COALESCE(array_agg(a.title ORDER BY a.title) FILTER (WHERE a.id IS NOT NULL), '{}') AS article_titles
             FROM users u LEFT JOIN articles a ON a.tenant_id = u.tenant_id AND a.user_id = u.id
            GROUP BY u.tenant_id, u.id, u.name, u.created_at
            ORDER BY u.name`,
  })
  return rows.map((row) => ({
    ...row,
    article_count: Number(row.article_count),
    page_sum: Number(row.page_sum),
  }))
}

export async function storageReport(tx: TenantQueryable): Promise<StorageReport> {
  const { rows } = await tx.query<{ table: string; rows: string; bytes: string }>({
    name: 'demo_storage_report',
    text: 'SELECT table_name AS table, row_count AS rows, bytes FROM tenant_storage ORDER BY table_name',
  })
  const tables = rows.map((row) => ({ table: row.table, rows: Number(row.rows), bytes: Number(row.bytes) }))
  return {
    tables,
    total: tables.reduce((sum, row) => ({ rows: sum.rows + row.rows, bytes: sum.bytes + row.bytes }), {
      rows: 0,
      bytes: 0,
    }),
  }
}

export interface DatabaseContext {
  tenant_id: string | null
  user_id: string | null
  role: string
  tenant_name: string | null
}

/** The context exactly as PostgreSQL sees it inside the request's transaction. */
export async function databaseContext(tx: TenantQueryable): Promise<DatabaseContext> {
  const { rows } = await tx.query<DatabaseContext>({
    name: 'demo_database_context',
    text: `SELECT rowfence.current_tenant_id() AS tenant_id, rowfence.current_user_id() AS user_id,
                  current_user AS role, (SELECT name FROM tenants) AS tenant_name`,
  })
  return rows[0]!
}
