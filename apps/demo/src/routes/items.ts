import type { FastifyInstance } from 'fastify'
import type { TenantDatabase } from '@rowfence/core'
import { tenantOf } from '../plugins/authenticate.ts'
import { errorResponses } from './schemas.ts'

export const ITEMS_DEFAULT_LIMIT = 100
export const ITEMS_MAX_LIMIT = 1000

export interface ItemsQuery {
  limit?: number
  after?: string
}

/** The list's query string: shared with the bench-only routes so every variant validates the same input. */
export const itemsQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: ITEMS_MAX_LIMIT, default: ITEMS_DEFAULT_LIMIT },
    after: {
      type: 'string',
      maxLength: 500,
      description: 'Keyset cursor: the last title of the previous page',
    },
  },
} as const

export const itemsListResponse = { type: 'array', items: { $ref: 'Item#' } } as const

/**
 * One statement, so it takes the one-round-trip path: context and query in a single Sync group. The
 * explicit tenant_id predicate is defence in depth and gives the planner a plain index condition; RLS
 * stays the guarantee. The plan (an index scan on (tenant_id, title) either way) does not depend on the
 * values, so it is planned once per connection (genericPlan) instead of on every request.
 */
export const listItems = {
  name: 'demo_items_list',
  text: `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1 AND ($2::text IS NULL OR title > $2)
         ORDER BY title LIMIT $3`,
}

export function itemRoutes(app: FastifyInstance, db: TenantDatabase): void {
  app.get<{ Querystring: ItemsQuery }>(
    '/items/',
    {
      schema: {
        summary: "List the caller's tenant's items, ordered by title",
        tags: ['items'],
        security: [{ bearerAuth: [] }],
        querystring: itemsQuerystring,
        response: { 200: itemsListResponse, ...errorResponses },
      },
    },
    async function listTenantItems(request) {
      const tenant = tenantOf(request)
      const { rows } = await db.queryAsTenant(tenant, {
        ...listItems,
        values: [tenant.tenantId, request.query.after ?? null, request.query.limit ?? ITEMS_DEFAULT_LIMIT],
        genericPlan: true,
      })
      return rows
    },
  )
}
