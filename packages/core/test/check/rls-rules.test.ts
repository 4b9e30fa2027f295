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

/** Asserts the rule fires exactly as expected, applies its own fix SQL, and asserts it is gone. */
async function firesThenFixedByItsFix(fixture: Fixture, ruleId: string, expected: string[]): Promise<void> {
  const report = await fixture.check()
  const findings = report.findings.filter((finding) => finding.ruleId === ruleId)
  expect(findings.map((finding) => [finding.table, finding.object].filter(Boolean).join(' '))).toEqual(
    expected,
  )
  await fixture.sql(findings.map((finding) => finding.fix).join('\n'))
  expect(await fixture.fired(ruleId)).toEqual([])
}

describe('a well-formed tenant table', () => {
  it('passes every rule (but the plain context advisory, context-forgeable)', async () => {
    const fixture = await harness.fixture(goodTable('orders'))
    const report = await fixture.check()
    expect(report.tenantTables).toEqual([`${fixture.schema}.orders`])
    expect(isolationFindings(report.findings)).toEqual([])
  })
})

describe('rls-not-enabled', () => {
  it('fires on a tenant table without RLS and not on tables without the tenant column', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.orders (tenant_id uuid NOT NULL, id uuid PRIMARY KEY);
      CREATE TABLE {schema}.countries (code text PRIMARY KEY);
      GRANT SELECT ON {schema}.orders, {schema}.countries TO {app};`)
    const findings = (await fixture.check()).findings.filter(
      (finding) => finding.ruleId === 'rls-not-enabled',
    )
    expect(findings.map((finding) => finding.severity)).toEqual(['error'])
    await firesThenFixedByItsFix(fixture, 'rls-not-enabled', [`${fixture.schema}.orders`])
  })

  it('follows --tenant-column: another column name makes other tables tenant tables', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.orders (tenant_id uuid NOT NULL, id uuid PRIMARY KEY);
      CREATE TABLE {schema}.docs (org_id bigint NOT NULL, id bigint PRIMARY KEY);`)
    expect(await fixture.fired('rls-not-enabled', { tenantColumn: 'org_id' })).toEqual([
      `${fixture.schema}.docs`,
    ])
  })
})

describe('rls-not-forced', () => {
  it('fires when the owner can log in, and FORCE fixes it', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')}
      ALTER TABLE {schema}.orders NO FORCE ROW LEVEL SECURITY;`)
    await firesThenFixedByItsFix(fixture, 'rls-not-forced', [`${fixture.schema}.orders`])
  })

  it('does not fire for a NOLOGIN owner that runs no code, and fires once it owns a view', async () => {
    const owner = await harness.createRole('NOLOGIN')
    const fixture = await harness.fixture(
      `${goodTable('orders')}
      ALTER TABLE {schema}.orders NO FORCE ROW LEVEL SECURITY;`,
      {
        adminSql: `ALTER TABLE {schema}.orders OWNER TO "${owner}"`,
      },
    )
    expect(await fixture.fired('rls-not-forced')).toEqual([])
    await harness.admin.query(
      `CREATE VIEW "${fixture.schema}".orders_view AS SELECT 1 AS one; ALTER VIEW "${fixture.schema}".orders_view OWNER TO "${owner}"`,
    )
    expect(await fixture.fired('rls-not-forced')).toEqual([`${fixture.schema}.orders`])
  })
})

describe('app-role-bypasses-rls', () => {
  it('fires when the app role owns a tenant table', async () => {
    const fixture = await harness.fixture(goodTable('orders'), {
      adminSql: 'ALTER TABLE {schema}.orders OWNER TO {app}',
    })
    expect(await fixture.fired('app-role-bypasses-rls')).toEqual([
      `${fixture.schema}.orders owner ${fixture.appRole}`,
    ])
    await harness.admin.query(
      `ALTER TABLE "${fixture.schema}".orders OWNER TO ${harness.db.cluster.ownerRole}`,
    )
    expect(await fixture.fired('app-role-bypasses-rls')).toEqual([])
  })

  it('fires when the app role is a member of the table owner, and its REVOKE fixes it', async () => {
    const fixture = await harness.fixture(goodTable('orders'))
    await harness.admin.query(`GRANT ${harness.db.cluster.ownerRole} TO "${fixture.appRole}"`)
    const [finding] = (await fixture.check()).findings.filter((f) => f.ruleId === 'app-role-bypasses-rls')
    expect(finding).toMatchObject({
      table: `${fixture.schema}.orders`,
      object: `owner ${harness.db.cluster.ownerRole}`,
      severity: 'error',
    })
    await harness.admin.query(finding!.fix)
    expect(await fixture.fired('app-role-bypasses-rls')).toEqual([])
  })

  it('fires when the app role has BYPASSRLS or is SUPERUSER', async () => {
    const fixture = await harness.fixture(goodTable('orders'), { adminSql: 'ALTER ROLE {app} BYPASSRLS' })
    expect(await fixture.fired('app-role-bypasses-rls')).toEqual([`(database) role ${fixture.appRole}`])
    await harness.admin.query(`ALTER ROLE "${fixture.appRole}" NOBYPASSRLS SUPERUSER`)
    const report = await fixture.check()
    expect(report.findings.filter((f) => f.ruleId === 'app-role-bypasses-rls').map((f) => f.fix)).toEqual([
      `ALTER ROLE "${fixture.appRole}" NOSUPERUSER;`,
    ])
    await harness.admin.query(`ALTER ROLE "${fixture.appRole}" NOSUPERUSER`)
    expect(await fixture.fired('app-role-bypasses-rls')).toEqual([])
  })

  it('fires when the app role is a member of a BYPASSRLS role', async () => {
    const privileged = await harness.createRole('NOLOGIN BYPASSRLS')
    const fixture = await harness.fixture(goodTable('orders'), { adminSql: `GRANT "${privileged}" TO {app}` })
    const [finding] = (await fixture.check()).findings.filter((f) => f.ruleId === 'app-role-bypasses-rls')
    expect(finding).toMatchObject({ table: null, object: `membership ${privileged}` })
    await harness.admin.query(finding!.fix)
    expect(await fixture.fired('app-role-bypasses-rls')).toEqual([])
  })
})

describe('missing-policy-for-command', () => {
  it('warns when a granted command has no permissive policy, and its CREATE POLICY fixes it', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.orders (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
      ALTER TABLE {schema}.orders ENABLE ROW LEVEL SECURITY;
      ALTER TABLE {schema}.orders FORCE ROW LEVEL SECURITY;
      CREATE POLICY orders_read ON {schema}.orders FOR SELECT USING (tenant_id = {ctx});
      GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.orders TO {app};`)
    const [finding] = (await fixture.check()).findings.filter(
      (f) => f.ruleId === 'missing-policy-for-command',
    )
    expect(finding).toMatchObject({ table: `${fixture.schema}.orders`, severity: 'warning' })
    expect(finding!.message).toContain('INSERT, UPDATE, DELETE')
    await firesThenFixedByItsFix(fixture, 'missing-policy-for-command', [`${fixture.schema}.orders`])
  })

  it('does not fire for commands the app role is not granted', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.orders (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
      ALTER TABLE {schema}.orders ENABLE ROW LEVEL SECURITY;
      ALTER TABLE {schema}.orders FORCE ROW LEVEL SECURITY;
      CREATE POLICY orders_read ON {schema}.orders FOR SELECT USING (tenant_id = {ctx});
      GRANT SELECT ON {schema}.orders TO {app};`)
    expect(await fixture.fired('missing-policy-for-command')).toEqual([])
  })
})

describe('truncate-or-references-granted', () => {
  it('fires on TRUNCATE and REFERENCES grants, and its REVOKE fixes it', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')}
      GRANT TRUNCATE, REFERENCES ON {schema}.orders TO {app};`)
    const [finding] = (await fixture.check()).findings.filter(
      (f) => f.ruleId === 'truncate-or-references-granted',
    )
    expect(finding!.message).toContain('TRUNCATE and REFERENCES')
    await firesThenFixedByItsFix(fixture, 'truncate-or-references-granted', [`${fixture.schema}.orders`])
  })
})
