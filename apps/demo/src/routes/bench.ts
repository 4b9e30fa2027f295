import type { FastifyInstance } from 'fastify'
import type { Pool } from 'pg'
import {
  contextConfigFor,
  inTransaction,
  normalizeContextWith,
  TENANT_SETTING,
  USER_SETTING,
  withClient,
  type TenantContext,
} from '@rowfence/core'
import { tenantOf } from '../plugins/authenticate.ts'
import { itemsListResponse, itemsQuerystring, itemsPage, type ItemsQuery } from './items.ts'

/**
 * Only for `npm run bench`: the raw app-role pool the comparison routes use. These routes exist to
 * measure what rowfence costs; they are never registered unless this option is passed to buildApp().
 */
export interface BenchRoutesOptions {
  readonly pool: Pool
}

/** The no-isolation baseline: a copy of `items` without RLS that the bench creates (schema `bench`). */
function plainPage(
  tenantId: string | number | bigint,
  query: ItemsQuery,
): { name: string; text: string; values: unknown[] } {
  const page = itemsPage(tenantId, query)
  const text = page.text.replace('FROM items\n', 'FROM bench.items_plain\n')
  if (text === page.text) throw new Error('bench: the items list statement changed shape')
  return { ...page, name: `bench_plain_${page.name}`, text }
}

/**
 * The context as hand-written code sets it: set_config of each setting, with the values the pool's
 * context config gives (the plain settings, or the signed value on the demo's signed schema).
 */
function setContext(pool: Pool, tenant: TenantContext): { name: string; text: string; values: string[] } {
  const context = normalizeContextWith(tenant, contextConfigFor(pool, undefined))
  const settings = context.settings ?? [
    [TENANT_SETTING, context.tenantId],
    [USER_SETTING, context.userId],
  ]
  return {
    name: `bench_naive_set_context_${settings.length}`,
    text: `SELECT ${settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
    values: settings.flat(),
  }
}

/**
 * `GET /bench/baseline/items/` and `GET /bench/naive/items/`: the same route shape as `GET /items/` (same
 * auth, query string, statement and response schema, so the same JSON), hidden from OpenAPI.
 * - baseline: the tenant filter only in WHERE, on the no-RLS copy, no transaction, no context. The
 *   physical limit of any isolation scheme.
 * - naive: BEGIN, set_config, query, COMMIT as four awaited round trips, as hand-written code does.
 */
export function benchRoutes(app: FastifyInstance, options: BenchRoutesOptions): void {
  const schema = { hide: true, querystring: itemsQuerystring, response: { 200: itemsListResponse } }
  const { pool } = options

  app.get<{ Querystring: ItemsQuery }>(
    '/bench/baseline/items/',
    { schema },
    async function listPlainBaseline(request) {
      const tenant = tenantOf(request)
      const { rows } = await pool.query(plainPage(tenant.tenantId, request.query))
      return rows
    },
  )

  app.get<{ Querystring: ItemsQuery }>(
    '/bench/naive/items/',
    { schema },
    async function listNaiveTransaction(request) {
      const tenant = tenantOf(request)
      // Four awaited round trips (BEGIN, set_config, query, COMMIT) through core's plain helpers.
      return withClient(pool, (client) =>
        inTransaction(client, async () => {
          await client.query(setContext(pool, tenant))
          const { rows } = await client.query(itemsPage(tenant.tenantId, request.query))
          return rows
        }),
      )
    },
  )
}
