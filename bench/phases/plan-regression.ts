import pg from 'pg'
import { planChoices, queryAsTenant, type PlanChoice, type PlanChoiceReport } from '@rowfence/core'
import type { BenchDatabase } from '../database.ts'
import { scaleTenants, type BenchTenant, type DatasetShape } from '../dataset.ts'
import type { Preset } from '../options.ts'
import { loadOrders, ORDERS_BY_STATUS_SQL, ordersFor, ordersTenants, type OrderStatus } from '../orders.ts'
import { median } from '../stats.ts'
import { LIST_ITEMS_AFTER_SQL, LIST_ITEMS_SQL } from './statements.ts'

/** The issue's bound: the default path may be at most this many times the custom plan's latency. */
export const DEFAULT_PLAN_LIMIT = 1.2
/** `LIMIT $n` of every statement of the phase. */
export const PLAN_REGRESSION_PAGE = 50
/** A next-page cursor: titles start with md5 hex digits, so about half of a tenant's items come after it. */
export const NEXT_PAGE_CURSOR = '8'
/** Default/custom pairs per case, after a few unmeasured ones. */
export const PLAN_REGRESSION_PAIRS: Readonly<Record<Preset, number>> = { full: 300, quick: 200, smoke: 40 }
/** Executions per statement in the warm-up stream (the advisor decides within it). */
export const WARMUP_EXECUTIONS = 60

/** The named statements, as an app sends them. */
export const PLAN_STATEMENTS = {
  orders_by_status: ORDERS_BY_STATUS_SQL,
  list_items: LIST_ITEMS_SQL,
  list_items_after: LIST_ITEMS_AFTER_SQL,
} as const
export type PlanStatementName = keyof typeof PLAN_STATEMENTS

export interface PlanRegressionCase {
  readonly statement: PlanStatementName
  /** largest, median, smallest */
  readonly tenant: string
  /** The tenant's rows in the statement's table. */
  readonly rows: number
  /** `status = 'flagged'`, `first page`, ... */
  readonly params: string
  readonly pairs: number
  /** Median latency of the named statement with default options (whatever the advisor chose). */
  readonly defaultMs: number
  /** Median latency of the same SQL unnamed (PostgreSQL plans it for its values every time). */
  readonly customMs: number
  /** defaultMs / customMs */
  readonly ratio: number
  readonly ok: boolean
  /** Plans the named statement got on the connection while this case was measured (pg_prepared_statements). */
  readonly genericPlans: number | undefined
  readonly customPlans: number | undefined
  /** EXPLAIN of the statement with this case's values, as `Limit > Sort > Index Scan using ...`. */
  readonly customPlan: string | undefined
}

export interface PlanRegressionResult {
  readonly limit: number
  readonly orders: { readonly tenants: number; readonly rows: number; readonly loadSeconds: number }
  /** Executions per statement before measuring. */
  readonly warmup: number
  /** planChoices() of the phase's statements after the warm-up, and after the measurements. */
  readonly choices: readonly PlanChoiceReport[]
  readonly finalChoices: readonly PlanChoiceReport[]
  /** EXPLAIN (GENERIC_PLAN) per statement; undefined before PostgreSQL 16. */
  readonly genericPlan: Readonly<Partial<Record<PlanStatementName, string>>>
  readonly cases: readonly PlanRegressionCase[]
}

export interface RatioVerdict {
  readonly ratio: number
  readonly ok: boolean
}

/** default / custom, and whether it is within `limit`; a ratio that is not a number fails. */
export function judgeRatio(defaultMs: number, customMs: number, limit = DEFAULT_PLAN_LIMIT): RatioVerdict {
  const ratio = defaultMs / customMs
  return { ratio, ok: Number.isFinite(ratio) && ratio <= limit }
}

export class DefaultPlanRegressionError extends Error {
  override readonly name = 'DefaultPlanRegressionError'
  readonly result: PlanRegressionResult
  constructor(result: PlanRegressionResult) {
    const failed = result.cases.filter((c) => !c.ok)
    super(
      `The default plan is more than ${result.limit}× the custom plan in ${failed.length} case(s):\n` +
        failed
          .map(
            (c) =>
              `  ${c.statement}, ${c.tenant} tenant, ${c.params}: default ${c.defaultMs.toFixed(3)} ms, ` +
              `custom ${c.customMs.toFixed(3)} ms (${c.ratio.toFixed(2)}×; advisor: ` +
              `${choiceOf(result.choices, c.statement)}; plans while measured: ${c.genericPlans ?? '?'} generic, ` +
              `${c.customPlans ?? '?'} custom)`,
          )
          .join('\n'),
    )
    this.result = result
  }
}

/** The advisor's choice for a statement name, as the report shows it ('none': it never saw it). */
export function choiceOf(choices: readonly PlanChoiceReport[], name: string): PlanChoice | 'none' {
  return choices.find((c) => c.name === name)?.choice ?? 'none'
}

interface PlanNode {
  readonly 'Node Type': string
  readonly 'Index Name'?: string
  readonly 'Relation Name'?: string
  readonly 'Parent Relationship'?: string
  readonly Plans?: readonly PlanNode[]
}

/** `Limit > Sort > Index Scan using orders_tenant_id_status_idx`: the plan's nodes, InitPlans left out. */
export function planSummary(root: PlanNode): string {
  const nodes: string[] = []
  const walk = (node: PlanNode): void => {
    if (node['Parent Relationship'] === 'InitPlan') return
    let text = node['Node Type']
    if (node['Index Name']) text += ` using ${node['Index Name']}`
    else if (node['Relation Name']) text += ` on ${node['Relation Name']}`
    nodes.push(text)
    for (const child of node.Plans ?? []) walk(child)
  }
  walk(root)
  return nodes.join(' > ')
}

const planOf = (rows: readonly Record<string, unknown>[]): PlanNode =>
  (rows[0]!['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan

interface MeasuredCase {
  readonly statement: PlanStatementName
  readonly label: string
  readonly tenant: BenchTenant
  readonly rows: number
  readonly params: string
  readonly values: readonly unknown[]
}

function casesFor(shape: DatasetShape): MeasuredCase[] {
  const cases: MeasuredCase[] = []
  for (const { label, tenant } of scaleTenants(shape)) {
    for (const status of ['active', 'flagged'] satisfies OrderStatus[]) {
      cases.push({
        statement: 'orders_by_status',
        label,
        tenant,
        rows: ordersFor(tenant),
        params: `status = '${status}'`,
        values: [tenant.id, status, PLAN_REGRESSION_PAGE],
      })
    }
  }
  for (const { label, tenant } of scaleTenants(shape)) {
    cases.push({
      statement: 'list_items',
      label,
      tenant,
      rows: tenant.items,
      params: 'first page',
      values: [tenant.id, PLAN_REGRESSION_PAGE],
    })
    cases.push({
      statement: 'list_items_after',
      label,
      tenant,
      rows: tenant.items,
      params: `next page (title > '${NEXT_PAGE_CURSOR}')`,
      values: [tenant.id, NEXT_PAGE_CURSOR, PLAN_REGRESSION_PAGE],
    })
  }
  return cases
}

/**
 * The warm-up stream, as production traffic would send it: tenants round-robin, for orders the
 * statuses in about their real proportions except that the rare one shows up every 20th execution (at
 * 0.05 % it would not show up at all), for the list (the demo's two statements) a next page every 4th execution.
 */
export function warmupStream(
  tenants: readonly BenchTenant[],
  executions: number,
): [PlanStatementName, unknown[]][] {
  const stream: [PlanStatementName, unknown[]][] = []
  for (let i = 0; i < executions; i++) {
    const tenant = tenants[i % tenants.length]!
    const status: OrderStatus = i % 20 === 7 ? 'flagged' : i % 20 === 13 ? 'archived' : 'active'
    stream.push(['orders_by_status', [tenant.id, status, PLAN_REGRESSION_PAGE]])
    stream.push(
      i % 4 === 3
        ? ['list_items_after', [tenant.id, NEXT_PAGE_CURSOR, PLAN_REGRESSION_PAGE]]
        : ['list_items', [tenant.id, PLAN_REGRESSION_PAGE]],
    )
  }
  return stream
}

async function preparedPlans(
  pool: pg.Pool,
  name: string,
): Promise<{ generic: number; custom: number } | undefined> {
  try {
    const { rows } = await pool.query<{ generic_plans: string; custom_plans: string }>(
      'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1',
      [name],
    )
    return rows[0]
      ? { generic: Number(rows[0].generic_plans), custom: Number(rows[0].custom_plans) }
      : undefined
  } catch {
    return undefined // PostgreSQL before 14 has no plan counters
  }
}

/**
 * The default path against custom plans, request by request on one connection: the named statement
 * with default options (the plan advisor's choice: cached generic plan, or custom plans) and the same
 * SQL unnamed (planned for its values on every execution), alternating which goes first.
 */
async function measureCase(
  pool: pg.Pool,
  testCase: MeasuredCase,
  pairs: number,
): Promise<Pick<PlanRegressionCase, 'defaultMs' | 'customMs' | 'genericPlans' | 'customPlans' | 'pairs'>> {
  const text = PLAN_STATEMENTS[testCase.statement]
  const context = { tenantId: testCase.tenant.id }
  const named = { name: testCase.statement, text, values: testCase.values }
  const unnamed = { text, values: testCase.values }
  const run = async (path: 'default' | 'custom'): Promise<number> => {
    const started = performance.now()
    await queryAsTenant(pool, context, path === 'default' ? named : unnamed)
    return performance.now() - started
  }
  for (let i = 0; i < 5; i++) {
    await run('default')
    await run('custom')
  }
  const before = await preparedPlans(pool, testCase.statement)
  const samples = { default: [] as number[], custom: [] as number[] }
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? (['default', 'custom'] as const) : (['custom', 'default'] as const)
    for (const path of order) samples[path].push(await run(path))
  }
  const after = await preparedPlans(pool, testCase.statement)
  return {
    pairs,
    defaultMs: median(samples.default),
    customMs: median(samples.custom),
    genericPlans: before && after ? after.generic - before.generic : undefined,
    customPlans: before && after ? after.custom - before.custom : undefined,
  }
}

const choicesOfPhase = (): PlanChoiceReport[] =>
  planChoices().filter((c) => Object.hasOwn(PLAN_STATEMENTS, c.name))

/**
 * Issue 17's "no plan regression": loads `orders` (a 95 % / 0.05 % status column), warms the plan
 * advisor with a mixed stream of the named statements through queryAsTenant, then measures the default
 * path against custom plans for the largest, median and smallest tenant. Throws
 * DefaultPlanRegressionError if the default path is slower than `DEFAULT_PLAN_LIMIT` × custom anywhere
 * (except in the smoke preset, which only reports).
 */
export async function runPlanRegressionPhase(
  database: Pick<BenchDatabase, 'ownerUrl' | 'appUrl' | 'appRole'>,
  shape: DatasetShape,
  preset: Preset,
  log: (line: string) => void,
): Promise<PlanRegressionResult> {
  const tenants = ordersTenants(shape)
  const loadStarted = performance.now()
  const rows = await loadOrders(database.ownerUrl, database.appRole, tenants)
  const loadSeconds = (performance.now() - loadStarted) / 1000
  log(`plan regression: ${rows} orders for ${tenants.length} tenants (${loadSeconds.toFixed(1)} s)`)

  const pool = new pg.Pool({ connectionString: database.appUrl, max: 1 })
  try {
    for (const [name, values] of warmupStream(tenants, WARMUP_EXECUTIONS)) {
      await queryAsTenant(
        pool,
        { tenantId: values[0] as string },
        { name, text: PLAN_STATEMENTS[name], values },
      )
    }
    const choices = choicesOfPhase()
    log(`plan regression: advisor ${choices.map((c) => `${c.name} ${c.choice}`).join(', ')}`)

    const genericPlan: Partial<Record<PlanStatementName, string>> = {}
    for (const [name, text] of Object.entries(PLAN_STATEMENTS) as [PlanStatementName, string][]) {
      try {
        const { rows: plan } = await pool.query(`EXPLAIN (GENERIC_PLAN, FORMAT JSON, COSTS OFF) ${text}`)
        genericPlan[name] = planSummary(planOf(plan))
      } catch {
        // PostgreSQL before 16: no EXPLAIN (GENERIC_PLAN)
      }
    }

    const cases: PlanRegressionCase[] = []
    for (const testCase of casesFor(shape)) {
      const { rows: plan } = await queryAsTenant(
        pool,
        { tenantId: testCase.tenant.id },
        `EXPLAIN (FORMAT JSON, COSTS OFF) ${PLAN_STATEMENTS[testCase.statement]}`,
        testCase.values,
      )
      const measured = await measureCase(pool, testCase, PLAN_REGRESSION_PAIRS[preset])
      const verdict = judgeRatio(measured.defaultMs, measured.customMs)
      cases.push({
        statement: testCase.statement,
        tenant: testCase.label,
        rows: testCase.rows,
        params: testCase.params,
        customPlan: planSummary(planOf(plan)),
        ...measured,
        ...verdict,
      })
      log(
        `plan regression ${testCase.statement} ${testCase.label} ${testCase.params}: default ` +
          `${measured.defaultMs.toFixed(3)} ms, custom ${measured.customMs.toFixed(3)} ms ` +
          `(${verdict.ratio.toFixed(2)}×${verdict.ok ? '' : ', REGRESSED'})`,
      )
    }
    const result: PlanRegressionResult = {
      limit: DEFAULT_PLAN_LIMIT,
      orders: { tenants: tenants.length, rows, loadSeconds },
      warmup: WARMUP_EXECUTIONS,
      choices,
      finalChoices: choicesOfPhase(),
      genericPlan,
      cases,
    }
    // The smoke preset (npm test) measures 40 pairs on a busy machine: its ratios are reported, never a
    // verdict (a timing assertion in the test suite would fail on noise, as it did once at 1.23×).
    if (preset !== 'smoke' && cases.some((c) => !c.ok)) throw new DefaultPlanRegressionError(result)
    return result
  } finally {
    await pool.end()
  }
}
