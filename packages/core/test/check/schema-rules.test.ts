import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCheckHarness, goodTable, type CheckHarness, type Fixture } from './harness.ts'

let harness: CheckHarness
beforeAll(async () => {
  harness = await createCheckHarness()
})
afterAll(async () => harness.drop())

const ruleFindings = async (fixture: Fixture, ruleId: string, options = {}) =>
  (await fixture.check(options)).findings.filter((finding) => finding.ruleId === ruleId)

async function applyFixes(fixture: Fixture, ruleId: string): Promise<void> {
  const findings = await ruleFindings(fixture, ruleId)
  expect(findings.length).toBeGreaterThan(0)
  await fixture.sql(findings.map((finding) => finding.fix).join('\n'))
}

/** RLS and policies as in goodTable, for a table created by the test. */
const protect = (name: string): string => `
  ALTER TABLE {schema}.${name} ENABLE ROW LEVEL SECURITY;
  ALTER TABLE {schema}.${name} FORCE ROW LEVEL SECURITY;
  CREATE POLICY ${name}_floor ON {schema}.${name} AS RESTRICTIVE USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
  CREATE POLICY ${name}_access ON {schema}.${name} USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
  GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.${name} TO {app};`

describe('unique-without-tenant', () => {
  it('fires on a primary key and a unique index without the tenant column; its fix adds it', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.users (tenant_id uuid NOT NULL, id uuid NOT NULL, email text NOT NULL,
        CONSTRAINT users_pkey PRIMARY KEY (id));
      CREATE INDEX users_tenant ON {schema}.users (tenant_id);
      CREATE UNIQUE INDEX users_email ON {schema}.users (lower(email));
      ${protect('users')}`)
    const findings = await ruleFindings(fixture, 'unique-without-tenant')
    expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([
      `${fixture.schema}.users users_email`,
      `${fixture.schema}.users users_pkey`,
    ])
    expect(findings.find((f) => f.object === 'users_pkey')!.message).toMatch(/^primary key users_pkey \(id\)/)
    expect(findings.find((f) => f.object === 'users_email')!.fix).toContain(
      `USING btree ("tenant_id", lower(email))`,
    )
    await applyFixes(fixture, 'unique-without-tenant')
    expect(await fixture.fired('unique-without-tenant')).toEqual([])
  })

  it('does not fire on a table marked shared, by comment or by option', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.plans (tenant_id uuid, code text PRIMARY KEY);
      CREATE TABLE {schema}.labels (tenant_id uuid, code text PRIMARY KEY);
      CREATE INDEX ON {schema}.plans (tenant_id);
      CREATE INDEX ON {schema}.labels (tenant_id);
      COMMENT ON TABLE {schema}.plans IS 'global price plans; rowfence:shared';
      ${protect('plans')} ${protect('labels')}`)
    expect(await fixture.fired('unique-without-tenant')).toEqual([`${fixture.schema}.labels labels_pkey`])
    expect(await fixture.fired('unique-without-tenant', { sharedTables: ['labels'] })).toEqual([])
  })
})

describe('foreign-key-without-tenant', () => {
  const parent = `
    CREATE TABLE {schema}.projects (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
    ${protect('projects')}`

  it('fires on a foreign key that pairs only the ids, and its fix makes it composite', async () => {
    const fixture = await harness.fixture(`${parent}
      ALTER TABLE {schema}.projects ADD CONSTRAINT projects_id_key UNIQUE (id);
      CREATE TABLE {schema}.tasks (tenant_id uuid NOT NULL, id uuid NOT NULL, project_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT tasks_project_fkey FOREIGN KEY (project_id) REFERENCES {schema}.projects (id));
      ${protect('tasks')}`)
    const findings = await ruleFindings(fixture, 'foreign-key-without-tenant')
    expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([
      `${fixture.schema}.tasks tasks_project_fkey`,
    ])
    await applyFixes(fixture, 'foreign-key-without-tenant')
    expect(await fixture.fired('foreign-key-without-tenant')).toEqual([])
  })

  it('does not fire on a composite key, or on keys to shared and non-tenant tables', async () => {
    const fixture = await harness.fixture(`${parent}
      CREATE TABLE {schema}.currencies (code text PRIMARY KEY);
      CREATE TABLE {schema}.templates (tenant_id uuid, id uuid PRIMARY KEY);
      COMMENT ON TABLE {schema}.templates IS 'rowfence:shared';
      CREATE TABLE {schema}.tasks (tenant_id uuid NOT NULL, id uuid NOT NULL, project_id uuid NOT NULL,
        currency text REFERENCES {schema}.currencies, template_id uuid REFERENCES {schema}.templates,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, project_id) REFERENCES {schema}.projects (tenant_id, id));
      ${protect('tasks')}`)
    expect(await fixture.fired('foreign-key-without-tenant')).toEqual([])
  })
})

describe('no-tenant-index', () => {
  it('fires when no index leads with the tenant column, and its CREATE INDEX fixes it', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.events (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (id, tenant_id));
      ${protect('events')}`)
    expect(await fixture.fired('no-tenant-index')).toEqual([`${fixture.schema}.events`])
    await applyFixes(fixture, 'no-tenant-index')
    expect(await fixture.fired('no-tenant-index')).toEqual([])
  })
})

describe('shared-sequence-default', () => {
  it('reports serial and identity columns as info, and its fix replaces them with random keys', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.invoices (tenant_id uuid NOT NULL, id bigserial, PRIMARY KEY (tenant_id, id));
      CREATE TABLE {schema}.receipts (tenant_id uuid NOT NULL, id bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (tenant_id, id));
      ${protect('invoices')} ${protect('receipts')}`)
    const findings = await ruleFindings(fixture, 'shared-sequence-default')
    expect(findings.map((f) => `${f.severity} ${f.table} ${f.object}`)).toEqual([
      `info ${fixture.schema}.invoices id`,
      `info ${fixture.schema}.receipts id`,
    ])
    expect(findings[1]!.message).toContain('identity column')
    await applyFixes(fixture, 'shared-sequence-default')
    expect(await fixture.fired('shared-sequence-default')).toEqual([])
  })
})

describe('view-bypasses-rls', () => {
  it('fires on owner-rights views (also views over views) and materialized views the app can select', async () => {
    // orders is not FORCEd: its owner, and so an owner-rights view, skips its policies.
    const fixture = await harness.fixture(`${goodTable('orders')}
      ALTER TABLE {schema}.orders NO FORCE ROW LEVEL SECURITY;
      CREATE VIEW {schema}.order_ids AS SELECT id FROM {schema}.orders;
      CREATE VIEW {schema}.order_count AS SELECT count(*) FROM {schema}.order_ids;
      CREATE MATERIALIZED VIEW {schema}.order_stats AS SELECT tenant_id, count(*) FROM {schema}.orders GROUP BY 1;
      CREATE VIEW {schema}.hidden AS SELECT id FROM {schema}.orders;
      CREATE VIEW {schema}.unrelated AS SELECT 1 AS one;
      GRANT SELECT ON {schema}.order_ids, {schema}.order_count, {schema}.order_stats, {schema}.unrelated TO {app};`)
    expect(await fixture.fired('view-bypasses-rls')).toEqual([
      `${fixture.schema}.order_count`,
      `${fixture.schema}.order_ids`,
      `${fixture.schema}.order_stats`,
    ])
    await applyFixes(fixture, 'view-bypasses-rls')
    expect(await fixture.fired('view-bypasses-rls')).toEqual([])
  })

  it('does not fire on a view whose owner is itself held by FORCEd RLS (it returns the caller tenant only)', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')}
      CREATE VIEW {schema}.order_ids AS SELECT id FROM {schema}.orders;
      GRANT SELECT ON {schema}.order_ids TO {app};`)
    expect(await fixture.fired('view-bypasses-rls')).toEqual([])
  })
})

describe('security-definer-function', () => {
  it('fires on SECURITY DEFINER functions the app can run that touch tenant tables; INVOKER fixes it', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')}
      CREATE FUNCTION {schema}.count_orders() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
        AS $$ BEGIN RETURN (SELECT count(*) FROM {schema}.orders); END $$;
      CREATE FUNCTION {schema}.wipe(p uuid) RETURNS void LANGUAGE sql SECURITY DEFINER
        BEGIN ATOMIC DELETE FROM {schema}.orders WHERE id = p; END;
      CREATE FUNCTION {schema}.harmless() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;
      CREATE FUNCTION {schema}.private_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
        AS $$ SELECT count(*) FROM {schema}.orders $$;
      REVOKE EXECUTE ON FUNCTION {schema}.private_count() FROM PUBLIC;`)
    const findings = await ruleFindings(fixture, 'security-definer-function')
    expect(findings.map((f) => `${f.table} ${f.object}`)).toEqual([
      `${fixture.schema}.orders "${fixture.schema}"."count_orders"()`,
      `${fixture.schema}.orders "${fixture.schema}"."wipe"(p uuid)`,
    ])
    await applyFixes(fixture, 'security-definer-function')
    expect(await fixture.fired('security-definer-function')).toEqual([])
  })
})
