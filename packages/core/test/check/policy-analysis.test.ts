import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { introspect } from '../../src/check/catalog/introspect.ts'
import { analyze } from '../../src/check/analysis/policy-analysis.ts'
import type { CatalogSnapshot } from '../../src/check/types.ts'
import { createCheckHarness, type CheckHarness } from './harness.ts'

/** USING expressions and the verdict the analyzer must reach for them (ctx = the demo context call). */
const cases: Array<[string, string]> = [
  ['tenant_id = {ctx}', 'guard'],
  ['tenant_id = rowfence.current_tenant_id()', 'guard'],
  ["tenant_id::text = current_setting('rowfence.tenant_id')", 'guard'],
  ["tenant_id = NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid", 'guard'],
  ['tenant_id IN (SELECT rowfence.current_tenant_id())', 'guard'],
  ['tenant_id IS NOT DISTINCT FROM rowfence.current_tenant_id()', 'guard'],
  ['tenant_id = {ctx} AND author_id = rowfence.current_user_id()', 'guard'],
  ['CASE rowfence.current_tenant_id() WHEN tenant_id THEN true ELSE false END', 'guard'],
  ['true', 'always'],
  ['tenant_id = tenant_id', 'always'],
  ['rowfence.current_tenant_id() IS NULL OR tenant_id = {ctx}', 'fails-open'],
  ['tenant_id = COALESCE(rowfence.current_tenant_id(), tenant_id)', 'fails-open'],
  ['CASE WHEN rowfence.current_tenant_id() IS NULL THEN true ELSE tenant_id = {ctx} END', 'fails-open'],
  [
    "current_setting('rowfence.tenant_id', true) = '' OR tenant_id::text = current_setting('rowfence.tenant_id', true)",
    'fails-open',
  ],
  ["tenant_id::text LIKE current_setting('rowfence.tenant_id', true) || '%'", 'fails-open'],
  ["tenant_id::text ~ current_setting('rowfence.tenant_id', true)", 'fails-open'],
  ["current_setting('app.bypass_rls', true) = 'on' OR tenant_id = {ctx}", 'bypass'],
  ["current_setting('app.role', true) IN ('admin', 'support') OR tenant_id = {ctx}", 'bypass'],
  ['author_id = rowfence.current_user_id()', 'not-scoped'],
  ['is_public OR tenant_id = {ctx}', 'not-scoped'],
  ["tenant_id = '7a245486-3fc8-47ec-b303-04fefe7a58ff'", 'not-scoped'],
  // Tenancy through a membership lookup keyed by the caller's identity pins the row...
  [
    'tenant_id IN (SELECT m.tenant_id FROM {schema}.members m WHERE m.user_id = rowfence.current_user_id())',
    'guard',
  ],
  [
    'EXISTS (SELECT 1 FROM {schema}.members m WHERE m.tenant_id = docs.tenant_id AND m.user_id = (SELECT rowfence.current_user_id()))',
    'guard',
  ],
  // ...a lookup that is not keyed by the caller does not.
  ['tenant_id IN (SELECT m.tenant_id FROM {schema}.members m)', 'not-scoped'],
  [
    'tenant_id IN (SELECT m.tenant_id FROM {schema}.members m WHERE rowfence.current_user_id() IS NOT NULL)',
    'not-scoped',
  ],
  // Role-per-tenant: the session role names the tenant.
  ['tenant_id = (SELECT t.tenant_id FROM {schema}.members t WHERE t.role_name = current_user)', 'guard'],
  ['tenant_id::text = current_user', 'guard'],
  ['current_user = tenant_id::text OR is_public', 'not-scoped'],
]

let harness: CheckHarness
let snapshot: CatalogSnapshot
let schema: string
beforeAll(async () => {
  harness = await createCheckHarness()
  const fixture = await harness.fixture(`
    CREATE TABLE {schema}.members (tenant_id uuid NOT NULL, user_id uuid NOT NULL, role_name name);
    CREATE TABLE {schema}.docs (tenant_id uuid NOT NULL, author_id uuid, is_public boolean);
    ALTER TABLE {schema}.docs ENABLE ROW LEVEL SECURITY;
    ${cases.map(([using], i) => `CREATE POLICY p${i} ON {schema}.docs USING (${using});`).join('\n')}`)
  schema = fixture.schema
  const client = new pg.Client(harness.db.ownerUrl)
  await client.connect()
  try {
    await client.query('BEGIN READ ONLY')
    snapshot = await introspect(client, {
      schemas: [schema],
      tenantColumn: 'tenant_id',
      appRole: fixture.appRole,
      sharedTables: [],
    })
    await client.query('ROLLBACK')
  } finally {
    await client.end()
  }
})
afterAll(async () => harness.drop())

describe('policy verdicts from the expression tree', () => {
  it.each(cases.map(([using, verdict], i) => [using, verdict, i] as const))(
    'USING (%s) is %s',
    (_using, verdict, i) => {
      const policy = snapshot.policies.find((candidate) => candidate.name === `p${i}`)!
      expect(analyze(snapshot).verdict(policy, 'using').kind).toBe(verdict)
    },
  )

  it('names the bypass setting', () => {
    const policy = snapshot.policies.find((candidate) => candidate.name === 'p16')!
    expect(analyze(snapshot).verdict(policy, 'using')).toEqual({
      kind: 'bypass',
      settings: ["current_setting('app.bypass_rls')"],
    })
  })

  it('knows which reads are wrapped in a sub-select (evaluated once per query)', () => {
    const analyzer = analyze(snapshot)
    const wrapped = (name: string): boolean[] => {
      const policy = snapshot.policies.find((candidate) => candidate.name === name)!
      return analyzer.facts(policy.table, policy.using).reads.map((read) => read.wrappedInSubSelect)
    }
    expect(wrapped('p0')).toEqual([true])
    expect(wrapped('p1')).toEqual([false])
  })
})
