import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  checkRules,
  formatJson,
  formatSarif,
  formatText,
  readBaseline,
  SARIF_SCHEMA,
  writeBaseline,
  type CheckReport,
} from '@rowfence/core/check'
import { createCheckHarness, type CheckHarness, type Fixture } from './harness.ts'

let harness: CheckHarness
let fixture: Fixture
let report: CheckReport
let dir: string
beforeAll(async () => {
  harness = await createCheckHarness()
  dir = await mkdtemp(join(tmpdir(), 'rowfence-check-'))
  fixture = await harness.fixture(`
    CREATE TABLE {schema}.orders (tenant_id uuid NOT NULL, id bigserial PRIMARY KEY);
    CREATE TABLE {schema}.notes (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
    ALTER TABLE {schema}.notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_all ON {schema}.notes USING (tenant_id = (SELECT rowfence.current_tenant_id()));
    GRANT SELECT, INSERT ON {schema}.orders, {schema}.notes TO {app};`)
  report = await fixture.check()
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  await harness.drop()
})

describe('text output', () => {
  it('groups findings by table with severity, rule id, why and the fix', () => {
    const text = formatText(report)
    const orders = text.indexOf(`\n${fixture.schema}.orders\n`)
    const notes = text.indexOf(`\n${fixture.schema}.notes\n`)
    expect(notes).toBeGreaterThan(0)
    expect(orders).toBeGreaterThan(notes)
    expect(text).toContain('  error   rls-not-enabled\n')
    expect(text).toContain(`fix: ALTER TABLE "${fixture.schema}"."orders" ENABLE ROW LEVEL SECURITY;`)
    expect(text).toMatch(/\d+ errors?, \d+ warnings?, \d+ info$/)
  })
})

describe('JSON output', () => {
  it('carries every finding as data with a summary', () => {
    const parsed = JSON.parse(formatJson(report)) as {
      summary: { error: number; warning: number; info: number; baselined: number }
      findings: Array<{ ruleId: string; severity: string; table: string; message: string; fix: string }>
    }
    expect(parsed.findings).toHaveLength(report.findings.length)
    expect(parsed.summary.error).toBe(report.findings.filter((f) => f.severity === 'error').length)
    expect(parsed.findings).toContainEqual(
      expect.objectContaining({
        ruleId: 'rls-not-forced',
        table: `${fixture.schema}.notes`,
        // The owner can log in, but the app is not it: a warning since issue 15.
        severity: 'warning',
      }),
    )
  })
})

describe('SARIF output', () => {
  it('has the fields SARIF 2.1.0 requires', () => {
    const sarif = JSON.parse(formatSarif(report)) as {
      $schema: string
      version: string
      runs: Array<{
        tool: { driver: { name: string; rules: Array<{ id: string; shortDescription: { text: string } }> } }
        results: Array<{
          ruleId: string
          ruleIndex: number
          level: string
          message: { text: string }
          locations: Array<{ logicalLocations: Array<{ fullyQualifiedName: string }> }>
        }>
      }>
    }
    expect(sarif.$schema).toBe(SARIF_SCHEMA)
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs).toHaveLength(1)
    const run = sarif.runs[0]!
    expect(run.tool.driver.name).toBe('rowfence')
    expect(run.tool.driver.rules.map((rule) => rule.id)).toEqual(checkRules.map((rule) => rule.id))
    expect(run.results).toHaveLength(report.findings.length)
    for (const result of run.results) {
      expect(run.tool.driver.rules[result.ruleIndex]!.id).toBe(result.ruleId)
      expect(['error', 'warning', 'note']).toContain(result.level)
      expect(result.message.text.length).toBeGreaterThan(0)
      // database/schema.table, or the database alone for database-wide findings (context-forgeable)
      const location = result.locations[0]!.logicalLocations[0]!.fullyQualifiedName
      if (result.ruleId === 'context-forgeable') expect(location).toBe(report.database)
      else expect(location).toMatch(/\//)
    }
    expect(run.results.map((result) => result.level)).toContain('note') // shared-sequence-default is info
  })
})

describe('baseline', () => {
  it('round trips: written findings are accepted on the next run, fingerprints stay stable', async () => {
    const file = join(dir, 'baseline.json')
    await writeBaseline(file, report.findings)
    const first = await readFile(file, 'utf8')
    const baseline = await readBaseline(file)
    expect(baseline.findings).toHaveLength(report.findings.length)

    const again = await fixture.check({ baseline })
    expect(again.findings).toEqual([])
    expect(again.baselined.map((f) => f.fingerprint).sort()).toEqual(
      report.findings.map((f) => f.fingerprint).sort(),
    )

    await writeBaseline(file, again.baselined)
    expect(await readFile(file, 'utf8')).toBe(first)
  })

  it('reports a finding that is new since the baseline', async () => {
    const file = join(dir, 'partial.json')
    await writeBaseline(
      file,
      report.findings.filter((f) => f.ruleId !== 'rls-not-enabled'),
    )
    const result = await fixture.check({ baseline: await readBaseline(file) })
    expect(result.findings.map((f) => `${f.ruleId} ${f.table}`)).toEqual([
      `rls-not-enabled ${fixture.schema}.orders`,
    ])
  })

  it('rejects a file that is not a baseline with ROWFENCE_BASELINE_INVALID', async () => {
    const file = join(dir, 'broken.json')
    await writeFile(file, '{"findings": 3}')
    await expect(readBaseline(file)).rejects.toMatchObject({ code: 'ROWFENCE_BASELINE_INVALID' })
    await expect(readBaseline(join(dir, 'missing.json'))).rejects.toMatchObject({
      code: 'ROWFENCE_BASELINE_INVALID',
    })
  })
})
