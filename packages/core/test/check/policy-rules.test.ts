import pg from 'pg'
import { checkDatabase } from '@rowfence/core/check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createCheckHarness,
  goodTable,
  isolationFindings,
  type CheckHarness,
  type Fixture,
} from './harness.ts'

let harness: CheckHarness
beforeAll(async () => {
  harness = await createCheckHarness()
})
afterAll(async () => harness.drop())

const ruleFindings = async (fixture: Fixture, ruleId: string, options = {}) =>
  (await fixture.check(options)).findings.filter((finding) => finding.ruleId === ruleId)

async function applyFixes(fixture: Fixture, ruleId: string): Promise<void> {
  await fixture.sql((await ruleFindings(fixture, ruleId)).map((finding) => finding.fix).join('\n'))
}

/** A tenant table with RLS forced and no policies yet. */
const bare = (name: string, columns = ''): string => `
  CREATE TABLE {schema}.${name} (
    tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), ${columns}
    PRIMARY KEY (tenant_id, id)
  );
  ALTER TABLE {schema}.${name} ENABLE ROW LEVEL SECURITY;
  ALTER TABLE {schema}.${name} FORCE ROW LEVEL SECURITY;
  GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.${name} TO {app};`

describe('write-not-tenant-checked', () => {
  const parentAndChild = `
    ${bare('projects')}
    CREATE POLICY projects_access ON {schema}.projects USING (tenant_id = {ctx});
    ${bare('tasks', 'project_id uuid NOT NULL,')}`

  it('fires on an explicit WITH CHECK that tests the parent row but forgets tenant_id', async () => {
    const fixture = await harness.fixture(`${parentAndChild}
      CREATE POLICY tasks_access ON {schema}.tasks
        USING (tenant_id = {ctx})
        WITH CHECK (EXISTS (SELECT 1 FROM {schema}.projects p WHERE p.id = project_id));`)
    const [finding, ...rest] = await ruleFindings(fixture, 'write-not-tenant-checked')
    expect(rest).toEqual([])
    expect(finding).toMatchObject({
      table: `${fixture.schema}.tasks`,
      object: 'tasks_access',
      severity: 'error',
    })
    expect(finding!.message).toContain('replaces the USING-derived check')
    await applyFixes(fixture, 'write-not-tenant-checked')
    expect(await fixture.fired('write-not-tenant-checked')).toEqual([])
  })

  it('does not fire when WITH CHECK is absent: the USING expression is the check', async () => {
    const fixture = await harness.fixture(`${parentAndChild}
      CREATE POLICY tasks_access ON {schema}.tasks USING (tenant_id = {ctx});`)
    expect(await fixture.fired('write-not-tenant-checked')).toEqual([])
  })

  it('does not fire when a RESTRICTIVE tenant floor checks every write', async () => {
    const fixture = await harness.fixture(`${parentAndChild}
      CREATE POLICY tasks_floor ON {schema}.tasks AS RESTRICTIVE
        USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
      CREATE POLICY tasks_access ON {schema}.tasks
        USING (tenant_id = {ctx})
        WITH CHECK (EXISTS (SELECT 1 FROM {schema}.projects p WHERE p.id = project_id));`)
    expect(await fixture.fired('write-not-tenant-checked')).toEqual([])
  })

  it('fires on an INSERT policy WITH CHECK (true), naming the command', async () => {
    const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_read ON {schema}.orders FOR SELECT USING (tenant_id = {ctx});
      CREATE POLICY orders_insert ON {schema}.orders FOR INSERT WITH CHECK (true);`)
    const findings = await ruleFindings(fixture, 'write-not-tenant-checked')
    expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([`${fixture.schema}.orders orders_insert`])
    expect(findings[0]!.message).toMatch(/can INSERT rows into another tenant/)
    await applyFixes(fixture, 'write-not-tenant-checked')
    expect(await fixture.fired('write-not-tenant-checked')).toEqual([])
  })
})

describe('policy-fails-open', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['USING (true)', 'true', /is true for every row/],
    [
      'IS NULL on the context',
      `rowfence.current_tenant_id() IS NULL OR tenant_id = {ctx}`,
      /not set \(NULL\)/,
    ],
    [
      "'' matching an empty setting",
      `current_setting('rowfence.tenant_id', true) = '' OR tenant_id::text = current_setting('rowfence.tenant_id', true)`,
      /reads ''/,
    ],
    [
      'LIKE with the setting as a prefix',
      `tenant_id::text LIKE current_setting('rowfence.tenant_id', true) || '%'`,
      /reads ''/,
    ],
    [
      'COALESCE to the row itself',
      `tenant_id = COALESCE(rowfence.current_tenant_id(), tenant_id)`,
      /not set/,
    ],
    [
      'a bypass setting the app role can change',
      `current_setting('app.bypass_rls', true) = 'on' OR tenant_id = {ctx}`,
      /app\.bypass_rls/,
    ],
  ]

  it.each(cases)(
    'fires on %s without a floor, and a RESTRICTIVE floor fixes it',
    async (_label, using, why) => {
      const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_access ON {schema}.orders USING (${using}) WITH CHECK (tenant_id = {ctx});`)
      const findings = await ruleFindings(fixture, 'policy-fails-open')
      expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([
        `${fixture.schema}.orders orders_access`,
      ])
      expect(findings[0]!.message).toMatch(why)
      await applyFixes(fixture, 'policy-fails-open')
      expect(await fixture.fired('policy-fails-open')).toEqual([])
    },
  )

  it('does not fire on a permissive USING (true) under a RESTRICTIVE tenant floor (the demo shape)', async () => {
    const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_floor ON {schema}.orders AS RESTRICTIVE USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
      CREATE POLICY orders_access ON {schema}.orders USING (true) WITH CHECK (true);`)
    expect(isolationFindings((await fixture.check()).findings)).toEqual([])
  })

  it('fires on a RESTRICTIVE floor that itself fails open', async () => {
    const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_floor ON {schema}.orders AS RESTRICTIVE
        USING (rowfence.current_tenant_id() IS NULL OR tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
      CREATE POLICY orders_access ON {schema}.orders USING (true) WITH CHECK (tenant_id = {ctx});`)
    expect(await fixture.fired('policy-fails-open')).toEqual([
      `${fixture.schema}.orders orders_access`,
      `${fixture.schema}.orders orders_floor`,
    ])
  })

  it('does not fire on a policy that does not apply to the app role', async () => {
    const other = await harness.createRole()
    const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_access ON {schema}.orders USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
      CREATE POLICY orders_admin ON {schema}.orders TO "${other}" USING (true);`)
    expect(await fixture.fired('policy-fails-open')).toEqual([])
  })
})

describe('read-not-tenant-scoped', () => {
  it('fires on a policy that pins the owner but not the tenant, and a floor fixes it', async () => {
    const fixture = await harness.fixture(`${bare('notes', 'author_id uuid,')}
      CREATE POLICY notes_own ON {schema}.notes USING (author_id = (SELECT rowfence.current_user_id()))
        WITH CHECK (tenant_id = {ctx});`)
    const findings = await ruleFindings(fixture, 'read-not-tenant-scoped')
    expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([`${fixture.schema}.notes notes_own`])
    await applyFixes(fixture, 'read-not-tenant-scoped')
    expect(await fixture.fired('read-not-tenant-scoped')).toEqual([])
  })

  it('does not fire when the tenant predicate is ANDed with the owner check', async () => {
    const fixture = await harness.fixture(`${bare('notes', 'author_id uuid,')}
      CREATE POLICY notes_own ON {schema}.notes
        USING (tenant_id = {ctx} AND author_id = (SELECT rowfence.current_user_id()))
        WITH CHECK (tenant_id = {ctx});`)
    expect(await fixture.fired('read-not-tenant-scoped')).toEqual([])
  })
})

describe('context-read-per-row', () => {
  const perRow = `${bare('orders')}
    CREATE POLICY orders_access ON {schema}.orders
      USING (tenant_id = rowfence.current_tenant_id()) WITH CHECK (tenant_id = rowfence.current_tenant_id());`

  it('fires from the plan made as the app role, and wrapping the call in (SELECT ...) fixes it', async () => {
    const fixture = await harness.fixture(perRow)
    const [finding, ...rest] = await ruleFindings(fixture, 'context-read-per-row')
    expect(rest).toEqual([])
    expect(finding).toMatchObject({ table: `${fixture.schema}.orders`, severity: 'warning' })
    expect(finding!.message).toContain(`plan as ${fixture.appRole}`)
    expect(finding!.message).toContain('current_setting(')
    expect(finding!.fix).toContain('(SELECT rowfence.current_tenant_id())')
    await applyFixes(fixture, 'context-read-per-row')
    expect(await fixture.fired('context-read-per-row')).toEqual([])
    expect(isolationFindings((await fixture.check()).findings)).toEqual([])
  })

  it('plans DELETE too when a DELETE policy of its own reads the context per row', async () => {
    const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_read ON {schema}.orders FOR SELECT USING (tenant_id = {ctx});
      CREATE POLICY orders_write ON {schema}.orders FOR INSERT WITH CHECK (tenant_id = {ctx});
      CREATE POLICY orders_change ON {schema}.orders FOR UPDATE USING (tenant_id = {ctx});
      CREATE POLICY orders_delete ON {schema}.orders FOR DELETE USING (tenant_id = rowfence.current_tenant_id());`)
    const [finding] = await ruleFindings(fixture, 'context-read-per-row')
    expect(finding?.message).toMatch(/^the DELETE plan as /)
    expect(finding?.message).toContain('policies: orders_delete')
  })

  it('plans as the checking role when it cannot become the app role but RLS applies to it', async () => {
    const fixture = await harness.fixture(perRow)
    const owner = harness.db.pool('owner')
    const report = await checkDatabase(owner, { schema: fixture.schema, appRole: fixture.appRole })
    const finding = report.findings.find((f) => f.ruleId === 'context-read-per-row')
    expect(finding?.message).toContain(`plan as ${harness.db.cluster.ownerRole}`)
  })

  it('falls back to the policy text, and says why, when the checking role cannot plan as the app', async () => {
    const fixture = await harness.fixture(perRow)
    const reader = await harness.createRole(`LOGIN PASSWORD 'reader-pw'`)
    await harness.admin.query(`GRANT CONNECT ON DATABASE ${harness.db.name} TO "${reader}"`)
    const url = new URL(harness.db.ownerUrl)
    url.username = reader
    url.password = 'reader-pw'
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 })
    try {
      const report = await checkDatabase(pool, { schema: fixture.schema, appRole: fixture.appRole })
      const finding = report.findings.find((f) => f.ruleId === 'context-read-per-row')
      expect(finding?.message).toContain(`decided from the policy text: no plan because cannot SET ROLE`)
    } finally {
      await pool.end()
    }
  })

  it('falls back to the policy text when plans are off, and says so', async () => {
    const fixture = await harness.fixture(perRow)
    const [finding] = await ruleFindings(fixture, 'context-read-per-row', { plans: false })
    expect(finding?.message).toContain('decided from the policy text')
    expect(finding?.message).toContain('orders_access')
  })

  it('does not fire when the plan evaluates the context in an InitPlan', async () => {
    const fixture = await harness.fixture(goodTable('orders'))
    expect(await fixture.fired('context-read-per-row')).toEqual([])
    expect(await fixture.fired('context-read-per-row', { plans: false })).toEqual([])
  })
})

describe('volatile-or-leaky-context', () => {
  it('fires on a VOLATILE context function, and ALTER FUNCTION ... STABLE fixes it', async () => {
    const fixture = await harness.fixture(`
      CREATE FUNCTION {schema}.tenant() RETURNS uuid LANGUAGE sql VOLATILE
        AS $$ SELECT NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid $$;
      GRANT EXECUTE ON FUNCTION {schema}.tenant() TO {app};
      ${bare('orders')}
      CREATE POLICY orders_access ON {schema}.orders
        USING (tenant_id = (SELECT {schema}.tenant())) WITH CHECK (tenant_id = (SELECT {schema}.tenant()));`)
    expect(await fixture.fired('volatile-or-leaky-context')).toEqual([
      `(database) "${fixture.schema}"."tenant"()`,
    ])
    await applyFixes(fixture, 'volatile-or-leaky-context')
    expect(await fixture.fired('volatile-or-leaky-context')).toEqual([])
  })

  it('fires on a policy that casts the tenant column through text, and its fix removes the cast', async () => {
    const fixture = await harness.fixture(`${bare('orders')}
      CREATE POLICY orders_access ON {schema}.orders
        USING (tenant_id::text = (SELECT current_setting('rowfence.tenant_id', true)))
        WITH CHECK (tenant_id = {ctx});`)
    const findings = await ruleFindings(fixture, 'volatile-or-leaky-context')
    expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([`${fixture.schema}.orders orders_access`])
    expect(findings[0]!.message).toContain('tenant_id::text')
    await applyFixes(fixture, 'volatile-or-leaky-context')
    expect(await fixture.fired('volatile-or-leaky-context')).toEqual([])
  })
})
