import pg from 'pg'
import { quoteIdentifier, quoteLiteral, withTenant } from '@rowfence/core'
import { pickEvenly, scaleTenants, type BenchTenant, type DatasetShape } from './dataset.ts'

/**
 * `orders`: a tenant table with a skewed non-tenant column, for the plan-regression phase. `status` is
 * 'active' on 95 % of the rows, 'archived' on ~4.95 % and 'flagged' on 0.05 %: the best plan for
 * `WHERE tenant_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT $3` depends on the status value
 * (walk (tenant_id, created_at) and filter, or fetch the few rows from (tenant_id, status) and sort).
 */
export const ORDERS_TABLE = 'orders'

/** Marks the table as the bench's own, so a rerun against the same external database may replace it. */
const ORDERS_COMMENT = 'rowfence bench: plan-regression phase (safe to drop)'

/** The named statement an app would send to list one tenant's orders of one status, newest first. */
export const ORDERS_BY_STATUS_SQL = `SELECT id, status, created_at FROM orders
         WHERE tenant_id = $1 AND status = $2
         ORDER BY created_at DESC LIMIT $3`

export const ORDER_STATUSES = ['active', 'archived', 'flagged'] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]

/** Orders per tenant: as many as it has items, at most this many (keeps the load to a few seconds). */
export const ORDERS_PER_TENANT_CAP = 20_000

/**
 * The table as `rowfence generate` writes a tenant table (apps/demo/migrations/0001_tenants_items.sql):
 * a RESTRICTIVE floor for all commands plus one PERMISSIVE policy per command, RLS enabled and forced.
 */
export function ordersDdl(appRole: string): string {
  const app = quoteIdentifier(appRole)
  const tenant = `"tenant_id" = (SELECT "rowfence"."current_tenant_id"())`
  return `
CREATE TABLE "orders" (
  "tenant_id" uuid NOT NULL,
  "id" bigint GENERATED ALWAYS AS IDENTITY,
  "status" text NOT NULL,
  "created_at" timestamptz NOT NULL,
  CONSTRAINT "orders_pkey" PRIMARY KEY ("tenant_id", "id")
);
ALTER TABLE "orders" ADD CONSTRAINT "orders_tenant_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id");
CREATE INDEX "orders_tenant_id_created_at_idx" ON "orders" ("tenant_id", "created_at");
CREATE INDEX "orders_tenant_id_status_idx" ON "orders" ("tenant_id", "status");
ALTER TABLE "orders" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "orders" FORCE ROW LEVEL SECURITY;
CREATE POLICY "orders_tenant_floor" ON "orders" AS RESTRICTIVE FOR ALL TO PUBLIC
  USING (${tenant})
  WITH CHECK (${tenant});
CREATE POLICY "orders_select" ON "orders" AS PERMISSIVE FOR SELECT TO PUBLIC
  USING (${tenant});
CREATE POLICY "orders_insert" ON "orders" AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK (${tenant});
CREATE POLICY "orders_update" ON "orders" AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING (${tenant})
  WITH CHECK (${tenant});
CREATE POLICY "orders_delete" ON "orders" AS PERMISSIVE FOR DELETE TO PUBLIC
  USING (${tenant});
REVOKE ALL ON TABLE "orders" FROM PUBLIC;
GRANT SELECT ON TABLE "orders" TO ${app};
COMMENT ON TABLE "orders" IS ${quoteLiteral(ORDERS_COMMENT)};`
}

/**
 * One tenant's orders, row g of n: status by g (95 % active, 0.05 % flagged, the rest archived), one
 * order every 17 minutes going back from a fixed date, so every run loads the same rows.
 */
const insertOrdersSql = `INSERT INTO orders (tenant_id, status, created_at)
  SELECT $1::uuid,
         CASE WHEN g % 2000 = 0 THEN 'flagged' WHEN g % 100 < 95 THEN 'active' ELSE 'archived' END,
         timestamptz '2025-01-01 00:00:00+00' - g * interval '17 minutes'
    FROM generate_series(1, $2::integer) AS g`

/** The tenants that get orders: the five largest, the scale scenario's three and 20 spread over all sizes. */
export function ordersTenants(shape: DatasetShape): BenchTenant[] {
  const picked = [
    ...shape.tenants.slice(0, 5),
    ...scaleTenants(shape).map((s) => s.tenant),
    ...pickEvenly(shape.tenants, 20),
  ]
  return [...new Map(picked.map((tenant) => [tenant.id, tenant])).values()]
}

export const ordersFor = (tenant: BenchTenant): number => Math.min(tenant.items, ORDERS_PER_TENANT_CAP)

/**
 * Creates `orders` as the owner role (replacing the bench's own table from an earlier run against the
 * same database), loads the orders through a tenant context per tenant (the table forces RLS: the owner
 * writes like the app), then ANALYZE. Returns the rows loaded.
 */
export async function loadOrders(
  ownerUrl: string,
  appRole: string,
  tenants: readonly BenchTenant[],
): Promise<number> {
  const owner = new pg.Pool({ connectionString: ownerUrl, max: 1 })
  try {
    const { rows } = await owner.query<{ comment: string | null }>(
      `SELECT obj_description(to_regclass('public.orders'), 'pg_class') AS comment
        WHERE to_regclass('public.orders') IS NOT NULL`,
    )
    if (rows[0]) {
      if (rows[0].comment !== ORDERS_COMMENT) {
        throw new Error(
          'This database has an "orders" table that is not the bench\'s own: use a fresh database',
        )
      }
      await owner.query('DROP TABLE public.orders')
    }
    await owner.query(ordersDdl(appRole))
    let loaded = 0
    for (const tenant of tenants) {
      const result = await withTenant(owner, { tenantId: tenant.id }, (tx) =>
        tx.query(insertOrdersSql, [tenant.id, ordersFor(tenant)]),
      )
      loaded += result.rowCount ?? 0
    }
    await owner.query('ANALYZE public.orders')
    return loaded
  } finally {
    await owner.end()
  }
}
