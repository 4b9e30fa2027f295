import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkRules } from '@rowfence/core/check'
import { main } from '../src/main.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

let db: TestDatabase
/** Probes run as a role that may SET ROLE to the app role: the superuser, on the per-file database. */
const adminUrl = (): string => {
  const url = new URL(db.cluster.adminUrl)
  url.pathname = `/${db.name}`
  return url.toString()
}
let dir: string
beforeAll(async () => {
  db = await createTestDatabase()
  dir = await mkdtemp(join(tmpdir(), 'rowfence-cli-check-'))
  // A broken schema next to the demo's clean one: no RLS, a global unique key, a serial id.
  const owner = db.pool('owner')
  await owner.query(`
    CREATE SCHEMA broken;
    GRANT USAGE ON SCHEMA broken TO rowfence_app;
    CREATE TABLE broken.invoices (tenant_id uuid NOT NULL, id bigserial PRIMARY KEY, number text UNIQUE);
    GRANT SELECT, INSERT ON broken.invoices TO rowfence_app;`)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  await db.drop()
})

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['check', ...argv], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('rowfence check', () => {
  it('exits 0 on the demo schema, which has no finding: it runs the signed context', async () => {
    const result = await run('--database-url', db.ownerUrl)
    expect(result.err).toBe('')
    expect(result.code).toBe(0)
    expect(result.out).toContain(`4 tenant tables checked with ${checkRules.length} rules`)
    expect(result.out).toContain('No findings: tenant isolation holds for every rule.')
    expect(result.out).not.toContain('context-forgeable')
  })

  it('flags the demo as it was before the signed context: the plain context advisory (info), exit 0', async () => {
    const plain = await createTestDatabase({ plainContext: true })
    try {
      const result = await run('--database-url', plain.ownerUrl)
      expect(result.code).toBe(0)
      expect(result.out).toContain('info    context-forgeable')
      expect(result.out).toContain('fix (unverified suggestion: the fix is advice, not SQL):')
      expect(result.out).toMatch(/\n0 errors, 0 warnings, 2 info$/)
    } finally {
      await plain.drop()
    }
  })

  it('exits 1 with error findings, grouped by table with the fix', async () => {
    const result = await run('--database-url', db.ownerUrl, '--schema', 'broken')
    expect(result.code).toBe(1)
    expect(result.out).toContain('\nbroken.invoices\n')
    expect(result.out).toContain('  error   rls-not-enabled')
    expect(result.out).toContain('fix (verified): ALTER TABLE "broken"."invoices" ENABLE ROW LEVEL SECURITY;')
    expect(result.out).toContain('  error   unique-without-tenant')
  })

  it('prints JSON and SARIF 2.1.0 on stdout', async () => {
    const json = JSON.parse(
      (await run('--database-url', db.ownerUrl, '--schema', 'broken', '--format', 'json')).out,
    )
    expect(json.findings.map((f: { ruleId: string }) => f.ruleId)).toContain('rls-not-enabled')
    const sarif = JSON.parse(
      (await run('--database-url', db.ownerUrl, '--schema', 'broken', '--format', 'sarif')).out,
    )
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/)
    expect(sarif.runs[0].tool.driver.name).toBe('rowfence')
    expect(sarif.runs[0].results.length).toBe(json.findings.length)
  })

  it('round trips a baseline: --write-baseline accepts everything, then --baseline exits 0', async () => {
    const file = join(dir, 'baseline.json')
    const written = await run('--database-url', db.ownerUrl, '--schema', 'broken', '--write-baseline', file)
    expect(written.code).toBe(0)
    expect(written.err).toMatch(/^wrote \d+ accepted finding\(s\) to /)
    const baseline = JSON.parse(await readFile(file, 'utf8'))
    expect(baseline.version).toBe(1)
    expect(baseline.findings.length).toBeGreaterThan(2)

    const checked = await run('--database-url', db.ownerUrl, '--schema', 'broken', '--baseline', file)
    expect(checked.code).toBe(0)
    expect(checked.out).toContain(`accepted by the baseline`)

    // A new problem is not in the baseline: exit 1 again.
    await db.pool('owner').query(`GRANT TRUNCATE ON broken.invoices TO rowfence_app`)
    const regressed = await run('--database-url', db.ownerUrl, '--schema', 'broken', '--baseline', file)
    expect(regressed.code).toBe(1)
    expect(regressed.out).toContain('truncate-or-references-granted')
    expect(regressed.out).not.toContain('rls-not-enabled')
  })

  it('--help lists every rule with its id and severity', async () => {
    const result = await run('--help')
    expect(result.code).toBe(0)
    for (const rule of checkRules)
      expect(result.out).toMatch(new RegExp(`${rule.id}\\s+${rule.severity}\\s+\\S`))
  })
})

describe('rowfence check cannot pass by accident', () => {
  it('exits 2 with "no database to check" without a URL, and never starts a database', async () => {
    const saved = process.env['DATABASE_URL']
    delete process.env['DATABASE_URL']
    try {
      const started = performance.now()
      const result = await run()
      expect(result.code).toBe(2)
      expect(result.err).toContain('no database to check')
      expect(performance.now() - started).toBeLessThan(1000)
    } finally {
      if (saved !== undefined) process.env['DATABASE_URL'] = saved
    }
  })

  it('takes --url and DATABASE_URL', async () => {
    expect((await run('--url', db.ownerUrl)).code).toBe(0)
    const saved = process.env['DATABASE_URL']
    process.env['DATABASE_URL'] = db.ownerUrl
    try {
      expect((await run()).code).toBe(0)
    } finally {
      if (saved === undefined) delete process.env['DATABASE_URL']
      else process.env['DATABASE_URL'] = saved
    }
  })

  it('exits 2 when no table has the tenant column, naming the columns that look like tenant keys', async () => {
    await db.pool('owner').query(`
      CREATE SCHEMA orgs;
      CREATE TABLE orgs.projects (org_id uuid NOT NULL, id uuid PRIMARY KEY);
      CREATE TABLE orgs.tasks (org_id uuid NOT NULL, id uuid PRIMARY KEY, team_id uuid);
      CREATE TABLE orgs.labels (id uuid PRIMARY KEY, account_id uuid);`)
    const result = await run('--url', db.ownerUrl, '--schema', 'orgs')
    expect(result.code).toBe(2)
    expect(result.err).toContain('no table in orgs has the tenant column tenant_id')
    expect(result.err).toContain('columns that look like tenant keys: org_id')
    expect(result.err).not.toContain('team_id') // only in one table
    const wrong = await run('--url', db.ownerUrl, '--tenant-column', 'tenant')
    expect(wrong.code).toBe(2)
    expect(wrong.err).toContain('tenant_id')
  })

  it('checks several schemas and a tenant column per table in one run', async () => {
    const result = await run(
      '--url',
      db.ownerUrl,
      '--schema',
      'public',
      '--schema',
      'broken',
      '--schema',
      'orgs',
      '--tenant-column',
      'orgs.projects=org_id',
      '--format',
      'json',
    )
    const report = JSON.parse(result.out) as { tenantTables: string[]; schemas: string[] }
    expect(report.schemas).toEqual(['public', 'broken', 'orgs'])
    expect(report.tenantTables).toContain('broken.invoices')
    expect(report.tenantTables).toContain('orgs.projects')
    expect(report.tenantTables).not.toContain('orgs.tasks')
  })

  it('--probe runs the live probes on the demo schema: all blocked, exit 0', async () => {
    const result = await run('--url', adminUrl(), '--probe')
    expect(result.err).toBe('')
    expect(result.code).toBe(0)
    expect(result.out).toMatch(/rowfence probe: .*\n/)
    // The demo runs the signed context: the probes sign A's context with the installed key, and every
    // forgery (plain setting, RESET, SET ROLE, guessed key, expired, spliced) is blocked too.
    expect(result.out).toContain(
      "context: set_config('rowfence.context', <the tenant's value signed with key",
    )
    expect(result.out).toMatch(/\n0 leaked, \d+ blocked, \d+ skipped$/)
    expect(result.out).not.toContain('forged')
  })
})

describe('rowfence check usage and connection errors exit 2', () => {
  it('rejects an unknown format, an unknown schema and a broken baseline', async () => {
    expect((await run('--format', 'xml')).code).toBe(2)
    const schema = await run('--database-url', db.ownerUrl, '--schema', 'nope')
    expect(schema.code).toBe(2)
    expect(schema.err).toContain('ROWFENCE_CHECK_TARGET_NOT_FOUND')
    const baseline = await run('--database-url', db.ownerUrl, '--baseline', join(dir, 'missing.json'))
    expect(baseline.code).toBe(2)
    expect(baseline.err).toContain('ROWFENCE_BASELINE_INVALID')
  })

  it('exits 2 when the database is unreachable, without echoing the password', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1))
      })
    })
    const result = await run('--database-url', `postgres://someone:s3cret-pw@127.0.0.1:${port}/x`)
    expect(result.code).toBe(2)
    expect(result.err).toContain('ROWFENCE_DATABASE_UNAVAILABLE')
    expect(result.err).toContain('someone:***@127.0.0.1')
    expect(result.err).not.toContain('s3cret-pw')
  })
})
