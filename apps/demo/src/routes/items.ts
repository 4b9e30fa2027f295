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
 * One statement per page shape, so each takes the one-round-trip path (context and query in a single Sync
 * group) and each has one plan for every tenant: an index scan of (tenant_id, title), from the start of the
 * tenant's range for the first page, from the cursor for the next ones. rowfence's plan advisor sees that
 * and runs both on the cached generic plan; a single statement with an optional cursor
 * (`$2 IS NULL OR title > $2`) would not qualify, and rightly so: its generic plan reads a deep page from
 * the start of the tenant's range. The explicit tenant_id predicate is defence in depth and gives the
 * planner a plain index condition; RLS stays the guarantee.
 */
export const listItems = {
  name: 'demo_items_list',
  text: `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1
         ORDER BY title LIMIT $2`,
}

export const listItemsAfter = {
  name: 'demo_items_list_after',
  text: `SELECT id, title, tenant_id FROM items
         WHERE tenant_id = $1 AND title > $2
         ORDER BY title LIMIT $3`,
}

/** The statement and values of one page of the list. */
export function itemsPage(
  tenantId: string | number | bigint,
  query: ItemsQuery,
): { name: string; text: string; values: unknown[] } {
  const limit = query.limit ?? ITEMS_DEFAULT_LIMIT
  return query.after === undefined
    ? { ...listItems, values: [tenantId, limit] }
    : { ...listItemsAfter, values: [tenantId, query.after, limit] }
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
      const { rows } = await db.queryAsTenant(tenant, itemsPage(tenant.tenantId, request.query))
      return rows
    },
  )
}
