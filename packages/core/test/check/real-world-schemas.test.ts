/**
 * Issue 15: schemas written the way real apps write them. Each false-positive class gets a fixture with
 * a test that it is not an error, and the true hole next to it still is.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeDatabase, type CheckOptions, type CheckReport, type Finding } from '@rowfence/core/check'
import {
  createCheckHarness,
  describeFindings,
  goodTable,
  type CheckHarness,
  type Fixture,
} from './harness.ts'

const fixtureSql = (name: string): Promise<string> =>
  readFile(new URL(`./fixtures/${name}.sql`, import.meta.url), 'utf8')

let harness: CheckHarness
beforeAll(async () => {
  harness = await createCheckHarness()
  await harness.admin.query(await fixtureSql('auth-stubs'))
})
afterAll(async () => harness.drop())

const errors = (report: CheckReport): string[] =>
  report.findings
    .filter((finding) => finding.severity === 'error')
    .map(
      (finding) =>
        `${finding.ruleId} ${finding.table ?? '(database)'}${finding.object ? ` ${finding.object}` : ''}`,
    )

const byRule = (report: CheckReport, ruleId: string): Finding[] =>
  report.findings.filter((finding) => finding.ruleId === ruleId)

async function load(name: string): Promise<Fixture> {
  return harness.fixture(await fixtureSql(name))
}

describe('inline JWT claims (Supabase)', () => {
  let fixture: Fixture
  let report: CheckReport
  beforeAll(async () => {
    fixture = await load('jwt-claim')
    report = await fixture.check()
  })

  it('recognises tenant_id = (auth.jwt() ->> tenant_id)::uuid as a tenant pin; the forgotten WITH CHECK next to it is still an error', () => {
    expect(errors(report)).toEqual([
      `write-not-tenant-checked ${fixture.schema}.tasks Tenant members can manage tasks`,
    ])
  })

  it("builds the fix from the app's own claim expression, never from rowfence.tenant_id", () => {
    const [finding] = byRule(report, 'write-not-tenant-checked')
    expect(finding!.fix).toContain('auth.jwt()')
    expect(finding!.fix).toContain("'tenant_id'")
    expect(report.findings.map((f) => f.fix).join('\n')).not.toMatch(/rowfence\.(tenant_id|current)/)
  })

  it('reports the app-readable table without RLS or tenant column that hangs off a tenant table', () => {
    expect(describeFindings(report.findings, 'unscoped-table-readable')).toEqual([
      `${fixture.schema}.task_comments`,
    ])
    expect(byRule(report, 'unscoped-table-readable')[0]!.message).toContain(`${fixture.schema}.tasks`)
    expect(byRule(report, 'unscoped-table-readable')[0]!.severity).toBe('warning')
  })

  it("probes through the app's own context: the JWT claims, inferred from the policies", async () => {
    const [a, b] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']
    await harness.admin.query(
      `INSERT INTO "${fixture.schema}".projects (tenant_id, name) VALUES ('${a}', 'a'), ('${b}', 'b');
       INSERT INTO "${fixture.schema}".tasks (tenant_id, title) VALUES ('${a}', 'a'), ('${b}', 'b');`,
    )
    const probe = await probeDatabase(harness.admin, { schema: fixture.schema, appRole: fixture.appRole })
    expect(probe.context).toContain('json_build_object')
    expect(probe.context).toContain("'tenant_id'")
    expect(probe.leaked).toEqual([]) // the inferred claims carry no sub, so the tasks WITH CHECK refuses
    // Told how the app really sets its context (claims with a subject), the forgotten pin leaks.
    const told = await probeDatabase(harness.admin, {
      schema: fixture.schema,
      appRole: fixture.appRole,
      context: {
        sql: `SELECT set_config('request.jwt.claims', json_build_object('tenant_id', $1::text, 'sub', gen_random_uuid())::text, true)`,
      },
    })
    const leaked = told.leaked.map((result) => `${result.table.split('.')[1]} ${result.probe}`)
    expect(leaked).toEqual(['tasks insert'])
    expect(probe.results.find((r) => r.table.endsWith('.projects') && r.probe === 'read')?.outcome).toBe(
      'blocked',
    )
  })

  it('reports random surrogate keys as info, not as errors', () => {
    const keys = byRule(report, 'unique-without-tenant')
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.every((finding) => finding.severity === 'info')).toBe(true)
  })
})

describe('membership helpers and lookups keyed by auth.uid() (basejump-style)', () => {
  let fixture: Fixture
  let report: CheckReport
  const options: CheckOptions = {
    tenantColumns: { documents: 'account_id', notes: 'account_id', invoices: 'account_id' },
  }
  beforeAll(async () => {
    fixture = await load('membership')
    report = await fixture.check(options)
  })

  it('takes a tenant column per table', () => {
    expect(report.tenantTables).toEqual([
      `${fixture.schema}.documents`,
      `${fixture.schema}.invoices`,
      `${fixture.schema}.notes`,
    ])
  })

  it('recognises has_role_on_account(account_id) and account_id IN (SELECT ... WHERE user_id = auth.uid()); a lookup not keyed by the caller is still an error', () => {
    expect(errors(report)).toEqual([`read-not-tenant-scoped ${fixture.schema}.invoices Members see invoices`])
  })

  it('offers a fix built on the membership helper the app already uses, and verifies it', async () => {
    const verified = await fixture.check({ ...options, verifyFixes: true })
    const [finding] = byRule(verified, 'read-not-tenant-scoped')
    expect(finding!.fix).toMatch(/has_role_on_account\(account_id\)|auth\.uid\(\)/)
    expect(finding!.fixNote, finding!.fix).toBeUndefined()
    expect(finding!.fixStatus).toBe('verified')
  })
})

describe('role per tenant (current_user pins)', () => {
  it('recognises a lookup keyed by current_user; a policy that only asks for a login is still an error', async () => {
    const fixture = await load('role-per-tenant')
    const report = await fixture.check()
    expect(errors(report)).toEqual([`policy-fails-open ${fixture.schema}.payments payments_any`])
  })
})

describe('keys and privileges', () => {
  let fixture: Fixture
  let report: CheckReport
  beforeAll(async () => {
    fixture = await load('keys-and-privileges')
    report = await fixture.check()
  })

  it('keeps business keys as errors and makes random or identity keys and random tokens info', () => {
    const severities = Object.fromEntries(
      byRule(report, 'unique-without-tenant').map((finding) => [finding.object, finding.severity]),
    )
    expect(severities).toEqual({
      members_email_key: 'error',
      members_invite_token_key: 'info',
      members_pkey: 'info',
      events_pkey: 'info',
    })
  })

  it('reports TRIGGER (from GRANT ALL) and its REVOKE clears it', async () => {
    const [finding] = byRule(report, 'truncate-or-references-granted')
    expect(finding!.table).toBe(`${fixture.schema}.events`)
    expect(finding!.message).toContain('TRIGGER')
    expect(finding!.fix).toBe(
      `REVOKE TRUNCATE, REFERENCES, TRIGGER ON "${fixture.schema}"."events" FROM "${fixture.appRole}", PUBLIC;`,
    )
    await fixture.sql(finding!.fix)
    expect(await fixture.fired('truncate-or-references-granted')).toEqual([])
  })

  it('reports CREATE on the schema', async () => {
    const other = await harness.fixture(`${goodTable('orders')} GRANT CREATE ON SCHEMA {schema} TO {app};`)
    expect(await other.fired('truncate-or-references-granted')).toEqual([`(database) schema ${other.schema}`])
  })
})

describe('SECURITY DEFINER functions', () => {
  it('a definer that checks the caller (auth.uid()) before touching rows is a warning; one that does not is an error', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')}
      CREATE TABLE {schema}.members (tenant_id uuid NOT NULL, user_id uuid NOT NULL, PRIMARY KEY (tenant_id, user_id));
      CREATE FUNCTION {schema}.order_count(t uuid) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$
        SELECT count(*) FROM {schema}.orders o
         WHERE o.tenant_id = t AND EXISTS (SELECT 1 FROM {schema}.members m WHERE m.tenant_id = t AND m.user_id = auth.uid())
      $$;
      CREATE FUNCTION {schema}.all_orders() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$
        SELECT count(*) FROM {schema}.orders
      $$;`)
    const findings = byRule(await fixture.check(), 'security-definer-function')
    expect(findings.map((finding) => [finding.object, finding.severity])).toEqual([
      [`"${fixture.schema}"."all_orders"()`, 'error'],
      [`"${fixture.schema}"."order_count"(t uuid)`, 'warning'],
    ])
  })
})

describe('superuser owner', () => {
  it('is one warning about the owner, not an rls-not-forced error per table', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')} ${goodTable('lines')}`, {
      adminSql: `
        ALTER TABLE {schema}.orders NO FORCE ROW LEVEL SECURITY, OWNER TO CURRENT_USER;
        ALTER TABLE {schema}.lines NO FORCE ROW LEVEL SECURITY, OWNER TO CURRENT_USER;`,
    })
    const findings = byRule(await fixture.check(), 'rls-not-forced')
    expect(findings.map((finding) => [finding.table, finding.severity])).toEqual([[null, 'warning']])
    expect(findings[0]!.object).toMatch(/^owner /)
  })
})

describe('fixes are verified or marked unverified', () => {
  it('every fix printed for every fixture is verified (applied in a rolled-back transaction, ran, cleared its finding) or marked unverified', async () => {
    const runs: Array<[string, CheckOptions]> = [
      ['jwt-claim', {}],
      [
        'membership',
        { tenantColumns: { documents: 'account_id', notes: 'account_id', invoices: 'account_id' } },
      ],
      ['role-per-tenant', {}],
      ['keys-and-privileges', {}],
    ]
    let verified = 0
    for (const [name, options] of runs) {
      const fixture = await load(name)
      const before = await fixture.check(options)
      const report = await fixture.check({ ...options, verifyFixes: true })
      expect(report.findings.map((f) => f.fingerprint)).toEqual(before.findings.map((f) => f.fingerprint))
      for (const finding of report.findings) {
        expect(['verified', 'unverified']).toContain(finding.fixStatus)
        if (finding.fixStatus === 'unverified') expect(finding.fixNote).toBeTruthy()
        if (finding.fixStatus === 'verified') verified++
      }
      // Verification left nothing behind.
      expect((await fixture.check(options)).findings).toEqual(before.findings)
    }
    expect(verified).toBeGreaterThan(3)
  })

  it('says so instead of inventing rowfence.tenant_id when the schema shows no tenant expression', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.orders (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
      ALTER TABLE {schema}.orders ENABLE ROW LEVEL SECURITY;
      ALTER TABLE {schema}.orders FORCE ROW LEVEL SECURITY;
      CREATE POLICY orders_all ON {schema}.orders USING (true);
      GRANT SELECT ON {schema}.orders TO {app};`)
    // The harness's database has rowfence.current_tenant_id(); without it, nothing can be inferred.
    const report = await fixture.check({ verifyFixes: true })
    const [finding] = byRule(report, 'policy-fails-open')
    expect(finding!.fix).not.toContain("current_setting('rowfence.tenant_id'")
    expect(finding!.fixStatus).toBe(finding!.fix.includes('CREATE POLICY') ? 'verified' : 'unverified')
  })
})
