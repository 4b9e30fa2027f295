import type { FastifyInstance } from 'fastify'
import type { TenantDatabase } from '@rowfence/core'
import { tenantOf } from '../plugins/authenticate.ts'
import { errorResponses } from './schemas.ts'

/** The caller's tenant row with its items, aggregated in one statement (one round trip). */
const tenantWithItems = {
  name: 'demo_tenant_with_items',
  text: `SELECT t.id, t.name,
                COALESCE(json_agg(json_build_object('id', i.id, 'title', i.title, 'tenant_id', i.tenant_id)
                                  ORDER BY i.title) FILTER (WHERE i.id IS NOT NULL), '[]') AS items
           FROM tenants t
           LEFT JOIN items i ON i.tenant_id = t.id
          WHERE t.id = $1
          GROUP BY t.id, t.name`,
}

export function tenantRoutes(app: FastifyInstance, db: TenantDatabase): void {
  app.get(
    '/tenants/',
    {
      schema: {
        summary: "The caller's tenant (exactly one element) with its items",
        tags: ['tenants'],
        security: [{ bearerAuth: [] }],
        response: { 200: { type: 'array', items: { $ref: 'Tenant#' } }, ...errorResponses },
      },
    },
    async function listTenant(request) {
      const tenant = tenantOf(request)
      const { rows } = await db.queryAsTenant(tenant, { ...tenantWithItems, values: [tenant.tenantId] })
      return rows
    },
  )
}
