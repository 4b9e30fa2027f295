import { describe, expect, it } from 'vitest'
import { datasetShape } from '../dataset.ts'
import { ordersTenants } from '../orders.ts'
import {
  choiceOf,
  DefaultPlanRegressionError,
  judgeRatio,
  planSummary,
  warmupStream,
  type PlanRegressionCase,
  type PlanRegressionResult,
} from '../phases/plan-regression.ts'
import { PLAN_REGRESSION_HEADING, planRegressionSection } from '../report/plan-regression-section.ts'
import { planRegressionTarget } from '../report/targets.ts'

const baseCase: PlanRegressionCase = {
  statement: 'orders_by_status',
  tenant: 'largest',
  rows: 20_000,
  params: "status = 'active'",
  pairs: 300,
  defaultMs: 0.5,
  customMs: 0.6,
  ratio: 0.5 / 0.6,
  ok: true,
  genericPlans: 305,
  customPlans: 0,
  customPlan: 'Limit > Index Scan using orders_tenant_id_created_at_idx',
}

const result = (cases: PlanRegressionCase[]): PlanRegressionResult => ({
  limit: 1.2,
  orders: { tenants: 25, rows: 31_167, loadSeconds: 0.7 },
  warmup: 60,
  choices: [
    { name: 'orders_by_status', choice: 'generic', executions: 60, agreeingSamples: 5, reason: undefined },
    {
      name: 'list_items',
      choice: 'custom',
      executions: 60,
      agreeingSamples: 3,
      reason: 'a custom plan differed from the generic plan for some parameter values',
    },
  ],
  finalChoices: [
    { name: 'orders_by_status', choice: 'custom', executions: 700, agreeingSamples: 6, reason: 'x' },
    { name: 'list_items', choice: 'custom', executions: 700, agreeingSamples: 3, reason: 'y' },
  ],
  genericPlan: { orders_by_status: 'Limit > Index Scan using orders_tenant_id_created_at_idx' },
  cases,
})

const flagged: PlanRegressionCase = {
  ...baseCase,
  params: "status = 'flagged'",
  defaultMs: 3,
  customMs: 0.75,
  ratio: 4,
  ok: false,
  customPlan: 'Limit > Sort > Index Scan using orders_tenant_id_status_idx',
}

describe('the plan-regression verdict', () => {
  it('passes a default path up to 1.2× the custom plan, and fails above', () => {
    expect(judgeRatio(0.5, 0.6)).toEqual({ ratio: 0.5 / 0.6, ok: true })
    expect(judgeRatio(1.2, 1).ok).toBe(true)
    expect(judgeRatio(1.21, 1)).toEqual({ ratio: 1.21, ok: false })
    expect(judgeRatio(3, 0.75, 5).ok).toBe(true)
  })

  it('fails a ratio that is not a number (nothing measured)', () => {
    expect(judgeRatio(Number.NaN, Number.NaN).ok).toBe(false)
    expect(judgeRatio(1, 0).ok).toBe(false)
  })

  it('names every regressed case in the error, with both latencies and what the advisor chose', () => {
    const error = new DefaultPlanRegressionError(result([baseCase, flagged]))
    expect(error.name).toBe('DefaultPlanRegressionError')
    expect(error.message).toBe(
      'The default plan is more than 1.2× the custom plan in 1 case(s):\n' +
        "  orders_by_status, largest tenant, status = 'flagged': default 3.000 ms, custom 0.750 ms (4.00×; " +
        'advisor: generic; plans while measured: 305 generic, 0 custom)',
    )
    expect(error.result.cases).toHaveLength(2)
  })

  it("reports the advisor's choice per statement, 'none' for one it never saw", () => {
    const { choices } = result([])
    expect(choiceOf(choices, 'list_items')).toBe('custom')
    expect(choiceOf(choices, 'other')).toBe('none')
  })
})

describe('plan summaries', () => {
  it('lists the nodes with their index, leaving InitPlans out', () => {
    expect(
      planSummary({
        'Node Type': 'Limit',
        Plans: [
          { 'Node Type': 'Result', 'Parent Relationship': 'InitPlan' },
          {
            'Node Type': 'Sort',
            Plans: [
              {
                'Node Type': 'Bitmap Heap Scan',
                'Relation Name': 'orders',
                Plans: [{ 'Node Type': 'Bitmap Index Scan', 'Index Name': 'orders_tenant_id_status_idx' }],
              },
            ],
          },
        ],
      }),
    ).toBe('Limit > Sort > Bitmap Heap Scan on orders > Bitmap Index Scan using orders_tenant_id_status_idx')
  })
})

describe('the warm-up stream', () => {
  const tenants = ordersTenants(datasetShape(50, 2000))

  it('runs each statement at least 20 times over many tenants, the rare status included', () => {
    const stream = warmupStream(tenants, 60)
    const orders = stream.filter(([name]) => name === 'orders_by_status').map(([, values]) => values)
    const lists = stream.filter(([name]) => name === 'list_items').map(([, values]) => values)
    const nextPages = stream.filter(([name]) => name === 'list_items_after').map(([, values]) => values)
    expect(orders.length).toBeGreaterThanOrEqual(20)
    expect(lists.length).toBeGreaterThanOrEqual(20)
    expect(nextPages.length).toBe(15)
    expect(new Set(orders.map((values) => values[0])).size).toBe(tenants.length)
    const statuses = orders.map((values) => values[1])
    expect(statuses.filter((s) => s === 'flagged')).toHaveLength(3)
    expect(statuses.filter((s) => s === 'archived')).toHaveLength(3)
    expect(statuses.filter((s) => s === 'active')).toHaveLength(54)
    expect(lists.every((values) => values.length === 2)).toBe(true)
  })

  it('loads the largest, median and smallest tenant, each once', () => {
    const shape = datasetShape(50, 2000)
    const ids = tenants.map((t) => t.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const tenant of [shape.tenants[0]!, shape.tenants[25]!, shape.tenants[49]!]) {
      expect(ids).toContain(tenant.id)
    }
  })
})

describe('the plan-regression report', () => {
  it('renders one row per case with both latencies, the ratio and the verdict', () => {
    const markdown = planRegressionSection(result([baseCase, flagged]))
    expect(markdown.startsWith(`${PLAN_REGRESSION_HEADING}\n`)).toBe(true)
    expect(markdown).toContain(
      '| statement | tenant | rows | params | advisor | custom plan | plans used | default ms | custom ms | default / custom | verdict |',
    )
    expect(markdown).toContain(
      "| orders_by_status | largest | 20,000 | status = 'active' | generic | " +
        '`Limit > Index Scan using orders_tenant_id_created_at_idx` | 305/0 | 0.500 | 0.600 | 0.83× | ok |',
    )
    expect(markdown).toContain("| status = 'flagged' | generic |")
    expect(markdown).toContain('| 3.000 | 0.750 | 4.00× | REGRESSED |')
    expect(markdown).toContain(
      '`orders_by_status` **generic**; `list_items` **custom** (a custom plan differed',
    )
    expect(markdown).toContain('After the measurements: `orders_by_status` custom.')
  })

  it('meets the target only when every case is within 1.2×, and names the worst', () => {
    expect(planRegressionTarget(result([baseCase]))).toMatchObject({
      name: 'Plan regression',
      target:
        'default plan ≤ 1.2× the custom plan for the largest/median/smallest tenant and a 95%/0.05% status column',
      measured: "worst 0.83× (orders_by_status, largest tenant, status = 'active'); 1/1 cases within",
      met: true,
    })
    expect(planRegressionTarget(result([baseCase, flagged]))).toMatchObject({
      measured: "worst 4.00× (orders_by_status, largest tenant, status = 'flagged'); 1/2 cases within",
      met: false,
    })
    expect(planRegressionTarget(result([])).met).toBeUndefined()
  })
})
