/**
 * Issue 18: a context the app role can forge. The rule fires on plain-setting schemas (the demo shape,
 * a direct current_setting(), a SECURITY DEFINER wrapper that verifies nothing) and not on the signed
 * context; the probes forge the context live as the app role, inside tenant A's transaction.
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withTenant, defineContextConfig, type TenantContext } from '@rowfence/core'
import { checkDatabase, formatProbeText, probeDatabase, type ProbeReport } from '@rowfence/core/check'
import { addContextKey, migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.ts'
import { createCheckHarness, describeFindings, goodTable, type CheckHarness } from './harness.ts'

const A = '11111111-1111-4111-8111-111111111111'
const B = '22222222-2222-4222-8222-222222222222'

let harness: CheckHarness
beforeAll(async () => {
  harness = await createCheckHarness()
})
afterAll(async () => harness.drop())

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`

describe('context-forgeable on plain settings', () => {
  it('fires once for the context function the demo-shaped policies call, with the injection and the fix', async () => {
    const fixture = await harness.fixture(`${goodTable('orders')}${goodTable('lines')}`)
    const report = await fixture.check()
    const findings = report.findings.filter((finding) => finding.ruleId === 'context-forgeable')
    expect(describeFindings(findings, 'context-forgeable')).toEqual([
      '(database) rowfence.current_tenant_id()',
    ])
    const [finding] = findings
    expect(finding!.severity).toBe('info')
    expect(finding!.message).toContain(`${fixture.schema}.lines, ${fixture.schema}.orders`)
    expect(finding!.message).toContain('reads the plain setting rowfence.tenant_id unverified')
    expect(finding!.message).toContain(`set_config('rowfence.tenant_id', '<victim tenant id>', true)`)
    expect(finding!.fix).toContain('context: { signed: true }')
    expect(finding!.fix).toContain('rowfence keys --add')
    // Advice, not SQL: nothing to run, and it fails nothing (info).
    expect(finding!.fix.split('\n').every((line) => line.startsWith('--'))).toBe(true)
    expect(report.findings.filter((f) => f.ruleId !== 'context-forgeable')).toEqual([])
  })

  it('fires for a direct current_setting() in a policy, and for a SECURITY DEFINER wrapper that verifies nothing', async () => {
    const fixture = await harness.fixture(`
      CREATE TABLE {schema}.docs (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (tenant_id, id));
      ALTER TABLE {schema}.docs ENABLE ROW LEVEL SECURITY;
      ALTER TABLE {schema}.docs FORCE ROW LEVEL SECURITY;
      CREATE POLICY docs_access ON {schema}.docs
        USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant', true), '')::uuid))
        WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant', true), '')::uuid));
      GRANT SELECT, INSERT ON {schema}.docs TO {app};
      CREATE FUNCTION {schema}.definer_tenant() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$ SELECT NULLIF(current_setting('app.org', true), '')::uuid $$;
      GRANT EXECUTE ON FUNCTION {schema}.definer_tenant() TO {app};
      CREATE TABLE {schema}.files (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (tenant_id, id));
      ALTER TABLE {schema}.files ENABLE ROW LEVEL SECURITY;
      ALTER TABLE {schema}.files FORCE ROW LEVEL SECURITY;
      CREATE POLICY files_access ON {schema}.files
        USING (tenant_id = (SELECT {schema}.definer_tenant())) WITH CHECK (tenant_id = (SELECT {schema}.definer_tenant()));
      GRANT SELECT, INSERT ON {schema}.files TO {app};`)
    expect(await fixture.fired('context-forgeable')).toEqual([
      `(database) current_setting('app.tenant')`,
      `(database) ${fixture.schema}.definer_tenant()`,
    ])
  })

  it('reports the demo schema once per context function (info: no error, no warning)', async () => {
    const report = await checkDatabase(harness.db.pool('owner'), { appRole: harness.db.cluster.appRole })
    expect(report.findings.map((f) => `${f.severity} ${f.ruleId} ${f.object}`)).toEqual([
      'info context-forgeable rowfence.current_tenant_id()',
      'info context-forgeable rowfence.current_user_id()',
    ])
    expect(report.findings[1]!.message).toContain('rowfence.user_id')
    expect(report.findings[0]!.message).toContain('public.articles, public.items, public.tenant_storage, …')
  })
})

/** A signed-context schema (rowfence generate with `signed: true`), its key installed, two tenants. */
describe('the signed context', () => {
  const key = { id: 'k1', secret: '5'.repeat(64) }
  const contextConfig = defineContextConfig({ signing: { key } })
  const orgs = tenantsTable('orgs', { columns: { id: uuid().primaryKey(), name: text().notNull() } })
  const notes = tenantTable('notes', {
    columns: { id: uuid().primaryKey().defaultRandom(), body: text().notNull() },
  })
  const schema = rowfenceSchema({ tables: [orgs, notes], appRole: 'rowfence_app', context: { signed: true } })
  let db: TestDatabase
  let owner: pg.Pool
  beforeAll(async () => {
    db = await createTestDatabase({ empty: true })
    owner = db.pool('owner')
    await migrate(owner, { migrations: [migrationFrom('0001_signed', renderSchema(schema))] })
    await addContextKey(owner, key)
    for (const [tenantId, name] of [
      [A, 'alpha'],
      [B, 'bravo'],
    ] as const) {
      const context: TenantContext = { tenantId, userId: randomUUID() }
      await withTenant(
        owner,
        context,
        async (tx) => {
          await tx.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [tenantId, name])
          await tx.query('INSERT INTO notes (body) VALUES ($1), ($1)', [`${name} note`])
        },
        { contextConfig },
      )
    }
  })
  afterAll(async () => db?.drop())

  it('has no context-forgeable finding (nor any other)', async () => {
    const report = await checkDatabase(owner, { appRole: db.cluster.appRole })
    expect(report.tenantTables).toEqual(['public.notes'])
    expect(report.findings).toEqual([])
  })

  it('is forgeable again when the app role can read the key table', async () => {
    const client = await owner.connect()
    try {
      await client.query('BEGIN')
      await client.query(`GRANT SELECT ON rowfence.context_keys TO ${q(db.cluster.appRole)}`)
      await client.query('COMMIT')
      const report = await checkDatabase(owner, { appRole: db.cluster.appRole })
      expect(describeFindings(report.findings, 'context-forgeable')).toEqual([
        '(database) rowfence.current_tenant_id()',
      ])
      expect(report.findings[0]!.message).toContain('rowfence.context')
    } finally {
      await client.query(`REVOKE SELECT ON rowfence.context_keys FROM ${q(db.cluster.appRole)}`)
      client.release()
    }
  })

  describe('probes that forge', () => {
    let report: ProbeReport
    beforeAll(async () => {
      report = await probeDatabase(db.pool('admin'), { appRole: db.cluster.appRole, tenants: [A, B] })
    })

    it("sets A's context the app's way: a value signed with the installed key", () => {
      expect(report.context).toContain("set_config('rowfence.context'")
      expect(report.context).toContain('signed')
      const read = report.results.find((result) => result.probe === 'read')!
      expect(read.outcome).toBe('blocked')
    })

    it("the signed value really verifies: probed as its own victim, A's context reads A's rows", async () => {
      const self = await probeDatabase(db.pool('admin'), { appRole: db.cluster.appRole, tenants: [A, A] })
      const read = self.results.find((result) => result.probe === 'read')!
      expect(read.outcome).toBe('leaked')
      expect(read.detail).toBe(`2 row(s) of tenant ${A}`)
    })

    it('blocks every forgery: plain setting, RESET, SET ROLE, forged, expired, unknown key, spliced', () => {
      const forges = report.results.filter((result) => result.probe.startsWith('forge-'))
      expect(forges.map((result) => `${result.probe} ${result.outcome}`)).toEqual([
        'forge-set-config blocked',
        'forge-write blocked',
        'forge-reset blocked',
        'forge-set-role blocked',
        'forge-guessed-key blocked',
        'forge-unknown-key blocked',
        'forge-expired blocked',
        'forge-spliced blocked',
      ])
      expect(forges.find((result) => result.probe === 'forge-write')!.detail).toBe('refused (SQLSTATE 42501)')
      expect(report.leaked).toEqual([])
      expect(report.forged).toEqual([])
    })
  })
})

describe('probes that forge, on a plain context', () => {
  it('switch tenant with set_config: reported as forged (context-forgeable, with its fix), not as a leak', async () => {
    const fixture = await harness.fixture(goodTable('orders'))
    await harness.admin.query(
      `INSERT INTO ${q(fixture.schema)}.orders (tenant_id) VALUES ('${A}'), ('${B}'), ('${B}')`,
    )
    const report = await probeDatabase(harness.admin, {
      schema: fixture.schema,
      appRole: fixture.appRole,
      tenants: [A, B],
    })
    const outcomes = report.results
      .filter((result) => result.probe.startsWith('forge-'))
      .map((result) => `${result.probe} ${result.outcome}`)
    expect(outcomes).toEqual([
      'forge-set-config forged',
      'forge-write forged',
      'forge-reset blocked',
      'forge-set-role blocked',
    ])
    expect(report.leaked).toEqual([])
    const setRole = report.results.find((result) => result.probe === 'forge-set-role')!
    expect(setRole.detail).toBe('refused (SQLSTATE 42501)')
    expect(setRole.statement).toMatch(/^SET ROLE "[^"]+"; SELECT count/)
    const [read] = report.forged
    expect(read!.ruleId).toBe('context-forgeable')
    expect(read!.detail).toBe(`2 row(s) of tenant ${B}`)
    expect(read!.statement).toBe(
      `SELECT count(*) AS n FROM ${q(fixture.schema)}."orders" WHERE (SELECT set_config('rowfence.tenant_id', '${B}'::text, true)) IS NOT NULL AND "tenant_id"::text = '${B}'`,
    )
    expect(read!.fix).toContain('rowfence keys --add')
    const text = formatProbeText(report)
    expect(text).toMatch(/ {2}forged {2}forge-set-config {5}2 row\(s\) of tenant 2222/)
    expect(text).toContain('context-forgeable (info): the app role switched tenant')
    expect(text.match(/rowfence keys --add/g)).toHaveLength(1)
    expect(text).toMatch(/0 leaked, \d+ blocked, \d+ skipped, 2 forged \(context-forgeable\)$/)
  })
})
