import { createRequire } from 'node:module'
import type { Pool } from 'pg'
import { withTenant } from '@rowfence/core'

export interface DemoTenant {
  readonly id: string
  readonly name: string
}

export interface DemoItem {
  readonly id: string
  readonly title: string
  readonly tenant_id: string
}

/** The demo data set of the FastAPI RLS demo: 3 tenants, 15 items, fixed ids. */
export const itemsDemo: { readonly tenants: readonly DemoTenant[]; readonly items: readonly DemoItem[] } =
  createRequire(import.meta.url)('../fixtures/items-demo.json')

/**
 * Loads the demo data. Idempotent (existing rows are left alone) and written through the tenant context
 * like any other tenant write: the tables FORCE row-level security, so even the owner role can only write
 * the tenant it is acting as.
 */
export async function seedDemo(pool: Pool): Promise<{ tenants: number; items: number }> {
  let tenants = 0
  let items = 0
  for (const tenant of itemsDemo.tenants) {
    const own = itemsDemo.items.filter((item) => item.tenant_id === tenant.id)
    await withTenant(pool, { tenantId: tenant.id }, async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [tenant.id, tenant.name],
      )
      tenants += inserted.rowCount ?? 0
      const result = await tx.query(
        `INSERT INTO items (tenant_id, id, title)
         SELECT $1, id, title FROM unnest($2::uuid[], $3::text[]) AS seed (id, title)
         ON CONFLICT DO NOTHING`,
        [tenant.id, own.map((item) => item.id), own.map((item) => item.title)],
      )
      items += result.rowCount ?? 0
    })
  }
  return { tenants, items }
}
