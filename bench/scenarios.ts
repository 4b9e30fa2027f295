import { signToken } from '@rowfence/demo'
import type { BenchTenant } from './dataset.ts'
import type { RequestTemplate } from './load/load-types.ts'

/** The three ways of serving the same list (apps/demo/src/routes/items.ts and bench.ts). */
export const SCENARIOS = ['baseline', 'rowfence', 'naive'] as const
export type Scenario = (typeof SCENARIOS)[number]

export const SCENARIO_PATHS: Record<Scenario, string> = {
  rowfence: '/items/',
  baseline: '/bench/baseline/items/',
  naive: '/bench/naive/items/',
}

export const SCENARIO_DESCRIPTIONS: Record<Scenario, string> = {
  baseline:
    'no RLS, tenant filter in WHERE, no transaction, no context (the physical limit); cached generic plan (session plan_cache_mode)',
  rowfence:
    '`GET /items/` as built: set_config + query in one Sync group, RLS; default options: the plan advisor runs the statement on its cached generic plan (plan_cache_mode set in the same round trip)',
  naive:
    'BEGIN, set_config, query, COMMIT as four awaited round trips, RLS; cached generic plan (session plan_cache_mode)',
}

/** `Bearer <token>` per tenant id, signed once (HS256, valid for the whole run). */
export async function signTokens(
  secret: string,
  tenants: readonly BenchTenant[],
): Promise<Map<string, string>> {
  const tokens = new Map<string, string>()
  for (const tenant of tenants) {
    if (tokens.has(tenant.id)) continue
    const token = await signToken({ secret, tenantId: tenant.id, subject: 'bench', expiresIn: '6h' })
    tokens.set(tenant.id, `Bearer ${token}`)
  }
  return tokens
}

/** One request per tenant, for a load generator to send round-robin. */
export function requestsFor(
  scenario: Scenario,
  tenants: readonly BenchTenant[],
  tokens: ReadonlyMap<string, string>,
  limit: number,
): RequestTemplate[] {
  return tenants.map((tenant) => {
    const authorization = tokens.get(tenant.id)
    if (!authorization) throw new Error(`no token for tenant ${tenant.id}`)
    return { path: `${SCENARIO_PATHS[scenario]}?limit=${limit}`, authorization }
  })
}

/** The list rotated left by `by`: interleaved rounds vary which scenario goes first. */
export function rotate<T>(list: readonly T[], by: number): T[] {
  const shift = ((by % list.length) + list.length) % list.length
  return [...list.slice(shift), ...list.slice(0, shift)]
}

/**
 * Fetches every tenant's list through every scenario and insists the bodies are byte-identical: the
 * scenarios must differ only in how they isolate, never in what they return.
 */
export async function assertSameJson(
  origin: string,
  tenants: readonly BenchTenant[],
  tokens: ReadonlyMap<string, string>,
  limit: number,
): Promise<number> {
  let checked = 0
  for (const tenant of tenants) {
    const bodies = new Map<Scenario, string>()
    for (const scenario of SCENARIOS) {
      const [request] = requestsFor(scenario, [tenant], tokens, limit)
      const response = await fetch(`${origin}${request!.path}`, {
        headers: { authorization: request!.authorization },
      })
      const body = await response.text()
      if (response.status !== 200) {
        throw new Error(
          `${scenario} answered ${response.status} for tenant ${tenant.id}: ${body.slice(0, 200)}`,
        )
      }
      bodies.set(scenario, body)
    }
    const rowfence = bodies.get('rowfence')!
    const rows = JSON.parse(rowfence) as { tenant_id: string }[]
    if (rows.length !== Math.min(limit, tenant.items) || rows.some((row) => row.tenant_id !== tenant.id)) {
      throw new Error(`rowfence returned ${rows.length} rows (or another tenant's) for tenant ${tenant.id}`)
    }
    for (const scenario of SCENARIOS) {
      if (bodies.get(scenario) !== rowfence) {
        throw new Error(`${scenario} and rowfence return different JSON for tenant ${tenant.id}`)
      }
    }
    checked += 1
  }
  return checked
}
