import { describe, expect, it } from 'vitest'
import { normalizeContextWith } from '../src/context/context-config.ts'
import { contextStatements, singleStatementBatch } from '../src/context/context-statements.ts'

const tenantId = '7a245486-3fc8-47ec-b303-04fefe7a58ff'
const userId = '0b7f2b7e-5f0c-4c4e-9a53-6f1c0b9d2a11'

describe('the context statements, rendered in one place for both modes', () => {
  it('set-config: one named statement, values as bind parameters', () => {
    const settings = normalizeContextWith({ tenantId, userId }, undefined)
    expect(contextStatements(settings, { mode: 'set-config', pooler: false, genericPlan: false })).toEqual([
      {
        name: 'rowfence_set_context',
        text: "SELECT set_config('rowfence.tenant_id', $1, true), set_config('rowfence.user_id', $2, true)",
        values: [tenantId, userId],
        discardRows: true,
      },
    ])
  })

  it('set-local: one unnamed SET LOCAL per setting, names quoted part by part, values quoted literals', () => {
    const settings = normalizeContextWith(
      { tenantId: "o'brien\\", claims: { role: 'admin' } },
      { tenantIdType: 'text', claims: { role: 'app.user' } },
    )
    expect(contextStatements(settings, { mode: 'set-local', pooler: false, genericPlan: true })).toEqual([
      { text: `SET LOCAL "rowfence"."tenant_id" = E'o''brien\\\\'` },
      { text: `SET LOCAL "rowfence"."user_id" = ''` },
      { text: `SET LOCAL "app"."user" = 'admin'` },
      { text: 'SET LOCAL plan_cache_mode = force_generic_plan' },
    ])
  })

  it('a single statement in set-local mode is BEGIN, the SET LOCALs, the statement and COMMIT', () => {
    const settings = normalizeContextWith({ tenantId }, undefined)
    const batch = singleStatementBatch(
      settings,
      { text: 'SELECT 1' },
      {
        mode: 'set-local',
        pooler: false,
        genericPlan: false,
      },
    )
    expect(batch).toEqual({
      statements: [
        { text: 'BEGIN' },
        { text: `SET LOCAL "rowfence"."tenant_id" = '${tenantId}'` },
        { text: `SET LOCAL "rowfence"."user_id" = ''` },
        { text: 'SELECT 1' },
        { text: 'COMMIT' },
      ],
      index: 3,
      transactionBlock: true,
    })
  })
})
