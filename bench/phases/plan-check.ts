import pg from 'pg'
import { withTenant } from '@rowfence/core'
import type { BenchTenant } from '../dataset.ts'
import { LIST_ITEMS_POLICY_ONLY_SQL, LIST_ITEMS_SQL } from './statements.ts'

/** One node of EXPLAIN (FORMAT JSON) output, as far as the check reads it. */
export interface PlanNode {
  readonly 'Node Type': string
  readonly 'Relation Name'?: string
  readonly 'Index Name'?: string
  readonly 'Index Cond'?: string
  readonly Filter?: string
  readonly Plans?: readonly PlanNode[]
}

export interface PlanVerdict {
  readonly ok: boolean
  /** Why not, one line per problem. */
  readonly problems: readonly string[]
  /** `Limit > Index Scan using items_title_key on items [Index Cond: (tenant_id = ...)]`. */
  readonly summary: string
}

const ITEMS_INDEXES = new Set(['items_pkey', 'items_title_key'])

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)]
}

function describe(node: PlanNode): string {
  let text = node['Node Type']
  if (node['Index Name']) text += ` using ${node['Index Name']}`
  if (node['Relation Name']) text += ` on ${node['Relation Name']}`
  if (node['Index Cond']) text += ` [Index Cond: ${node['Index Cond']}]`
  if (node.Filter) text += ` [Filter: ${node.Filter}]`
  return text
}

/**
 * The tenant predicate must reach the index: no sequential scan of items, no Filter on tenant_id (rows
 * read, then thrown away), and an index scan of one of items' indexes with tenant_id in its Index Cond.
 */
export function judgePlan(root: PlanNode): PlanVerdict {
  const nodes = nodesOf(root)
  const problems: string[] = []
  for (const node of nodes) {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'items') {
      problems.push('a Seq Scan on items')
    }
    if (node['Relation Name'] === 'items' && node.Filter?.includes('tenant_id')) {
      problems.push(`tenant_id in a Filter: ${node.Filter}`)
    }
  }
  const indexed = nodes.some(
    (node) =>
      node['Index Name'] !== undefined &&
      ITEMS_INDEXES.has(node['Index Name']) &&
      (node['Index Cond'] ?? '').includes('tenant_id'),
  )
  if (!indexed) problems.push('no index scan of items with tenant_id in its Index Cond')
  return {
    ok: problems.length === 0,
    problems,
    summary: nodes
      .filter((node) => node['Node Type'] !== 'Result' || node.Plans)
      .map(describe)
      .join(' > '),
  }
}

export interface PlanCase {
  readonly tenant: string
  readonly query: 'route' | 'policy only'
  readonly plan: 'custom' | 'generic'
  readonly verdict: PlanVerdict
}

export class PlanRegressionError extends Error {
  override readonly name = 'PlanRegressionError'
  readonly cases: readonly PlanCase[]
  constructor(cases: readonly PlanCase[]) {
    const failed = cases.filter((c) => !c.verdict.ok)
    super(
      `The tenant predicate no longer reaches the index in ${failed.length} plan(s):\n` +
        failed
          .map(
            (c) =>
              `  ${c.query}, ${c.plan} plan, ${c.tenant} tenant: ${c.verdict.problems.join('; ')}\n` +
              `    ${c.verdict.summary}`,
          )
          .join('\n'),
    )
    this.cases = cases
  }
}

/**
 * EXPLAIN as the app role inside a tenant context (withTenant), for the route's statement and for the
 * same list with no tenant predicate (only the policy filters), with custom and generic plans (a named
 * statement switches to a generic plan after five runs). Throws PlanRegressionError if any plan
 * regressed. Statements are PREPAREd and EXPLAIN EXECUTEd, with the values quoted by PostgreSQL's
 * format(%L): EXECUTE takes no protocol parameters.
 */
export async function checkPlans(
  appUrl: string,
  tenants: readonly { label: string; tenant: BenchTenant }[],
  limit: number,
): Promise<PlanCase[]> {
  const pool = new pg.Pool({ connectionString: appUrl, max: 1 })
  const cases: PlanCase[] = []
  try {
    for (const { label, tenant } of tenants) {
      await withTenant(
        pool,
        { tenantId: tenant.id },
        async (tx) => {
          await tx.query(`PREPARE bench_plan_route (uuid, integer) AS ${LIST_ITEMS_SQL}`)
          await tx.query(`PREPARE bench_plan_policy (integer) AS ${LIST_ITEMS_POLICY_ONLY_SQL}`)
          const executions = {
            route: await tx.query<{ sql: string }>(
              `SELECT format('EXPLAIN (FORMAT JSON) EXECUTE bench_plan_route (%L, %L)', $1::text, $2::text) AS sql`,
              [tenant.id, String(limit)],
            ),
            'policy only': await tx.query<{ sql: string }>(
              `SELECT format('EXPLAIN (FORMAT JSON) EXECUTE bench_plan_policy (%L)', $1::text) AS sql`,
              [String(limit)],
            ),
          }
          for (const plan of ['custom', 'generic'] as const) {
            await tx.query(`SET LOCAL plan_cache_mode = force_${plan}_plan`)
            for (const query of ['route', 'policy only'] as const) {
              const { rows } = await tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
                executions[query].rows[0]!.sql,
              )
              cases.push({ tenant: label, query, plan, verdict: judgePlan(rows[0]!['QUERY PLAN'][0].Plan) })
            }
          }
          // Prepared statements outlive the transaction: the next tenant prepares them again.
          await tx.query('DEALLOCATE bench_plan_route')
          await tx.query('DEALLOCATE bench_plan_policy')
        },
        { readOnly: true },
      )
    }
  } finally {
    await pool.end()
  }
  if (cases.some((c) => !c.verdict.ok)) throw new PlanRegressionError(cases)
  return cases
}
