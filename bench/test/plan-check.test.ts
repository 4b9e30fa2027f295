import { describe, expect, it } from 'vitest'
import { judgePlan, type PlanNode } from '../phases/plan-check.ts'

const indexScan: PlanNode = {
  'Node Type': 'Limit',
  Plans: [
    {
      'Node Type': 'Index Scan',
      'Relation Name': 'items',
      'Index Name': 'items_title_key',
      'Index Cond': '(tenant_id = (InitPlan 1).col1)',
      Filter: '(($1 IS NULL) OR (title > $1))',
    },
  ],
}

describe('the plan check', () => {
  it('accepts the tenant predicate as an Index Cond, also under a bitmap scan', () => {
    expect(judgePlan(indexScan)).toMatchObject({ ok: true, problems: [] })
    expect(
      judgePlan({
        'Node Type': 'Bitmap Heap Scan',
        'Relation Name': 'items',
        Plans: [
          {
            'Node Type': 'Bitmap Index Scan',
            'Index Name': 'items_pkey',
            'Index Cond': "(tenant_id = 'a'::uuid)",
          },
        ],
      }).ok,
    ).toBe(true)
    expect(judgePlan(indexScan).summary).toContain('Index Scan using items_title_key on items')
  })

  it('rejects a Seq Scan of items', () => {
    const verdict = judgePlan({
      'Node Type': 'Limit',
      Plans: [{ 'Node Type': 'Seq Scan', 'Relation Name': 'items', Filter: '(tenant_id = $1)' }],
    })
    expect(verdict.ok).toBe(false)
    expect(verdict.problems).toEqual([
      'a Seq Scan on items',
      'tenant_id in a Filter: (tenant_id = $1)',
      'no index scan of items with tenant_id in its Index Cond',
    ])
  })

  it('rejects an index scan that filters tenant_id afterwards', () => {
    const verdict = judgePlan({
      'Node Type': 'Index Scan',
      'Relation Name': 'items',
      'Index Name': 'items_title_key',
      'Index Cond': "(title > 'a'::text)",
      Filter: '(tenant_id = (InitPlan 1).col1)',
    })
    expect(verdict.ok).toBe(false)
    expect(verdict.problems).toHaveLength(2)
  })
})
