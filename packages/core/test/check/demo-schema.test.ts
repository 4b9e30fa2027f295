import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { quoteIdentifier } from '@rowfence/core'
import { checkDatabase } from '@rowfence/core/check'
import { createCheckHarness, type CheckHarness } from './harness.ts'

/**
 * The demo runs the signed context (migration 0007): no finding at all, not even the context-forgeable
 * advisory that its plain context had (context-forgeable.test.ts checks that one on the plain demo).
 */
const CLEAN: string[] = []
const described = (findings: readonly { severity: string; ruleId: string; object: string | null }[]) =>
  findings.map((finding) => `${finding.severity} ${finding.ruleId} ${finding.object}`)

let harness: CheckHarness
beforeAll(async () => {
  harness = await createCheckHarness({ signed: true })
})
afterAll(async () => harness.drop())

describe('the demo app schema', () => {
  it.each(['admin', 'owner', 'app'] as const)('comes out clean when checked as the %s role', async (role) => {
    const report = await checkDatabase(harness.db.pool(role), {
      schema: 'public',
      appRole: harness.db.cluster.appRole,
    })
    expect(report.tenantTables).toEqual([
      'public.articles',
      'public.items',
      'public.tenant_storage',
      'public.users',
    ])
    expect(described(report.findings)).toEqual(CLEAN)
    expect(report.baselined).toEqual([])
  })

  it('comes out the same for a role that holds no privilege beyond CONNECT', async () => {
    const reader = await harness.createRole(`LOGIN PASSWORD 'reader-pw'`)
    await harness.admin.query(`GRANT CONNECT ON DATABASE ${harness.db.name} TO ${quoteIdentifier(reader)}`)
    const url = new URL(harness.db.ownerUrl)
    url.username = reader
    url.password = 'reader-pw'
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 })
    try {
      const report = await checkDatabase(pool, { appRole: harness.db.cluster.appRole })
      expect(described(report.findings)).toEqual(CLEAN)
    } finally {
      await pool.end()
    }
  })

  it('runs in one READ ONLY transaction that it rolls back, sending only reads', async () => {
    const client = new pg.Client(harness.db.ownerUrl)
    await client.connect()
    const sent: string[] = []
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>
    ;(client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
      sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text))
      return query(...args)
    }
    try {
      await checkDatabase(client, { appRole: harness.db.cluster.appRole })
      expect(sent[0]).toBe('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
      expect(sent.at(-1)).toBe('ROLLBACK')
      for (const text of sent.slice(1, -1)) {
        expect(text.trim()).toMatch(
          /^(SELECT|WITH|EXPLAIN|SET LOCAL|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b/,
        )
      }
    } finally {
      await client.end()
    }
  })
})

describe('inputs', () => {
  it('rejects a schema or app role that does not exist with ROWFENCE_CHECK_TARGET_NOT_FOUND', async () => {
    await expect(checkDatabase(harness.admin, { schema: 'no_such_schema' })).rejects.toMatchObject({
      code: 'ROWFENCE_CHECK_TARGET_NOT_FOUND',
    })
    await expect(checkDatabase(harness.admin, { appRole: 'no_such_role_rf' })).rejects.toMatchObject({
      code: 'ROWFENCE_CHECK_TARGET_NOT_FOUND',
    })
  })

  it('handles adversarial identifiers: findings name them and their fix SQL quotes them', async () => {
    const fixture = await harness.fixture(`
      CREATE SCHEMA "x""; drop table items --";
      CREATE TABLE "x""; drop table items --"."we""ird" (tenant_id uuid NOT NULL, id uuid, PRIMARY KEY (tenant_id, id));
      GRANT USAGE ON SCHEMA "x""; drop table items --" TO {app};
      GRANT SELECT ON "x""; drop table items --"."we""ird" TO {app};`)
    const schema = 'x"; drop table items --'
    const report = await fixture.check({ schema })
    const finding = report.findings.find((f) => f.ruleId === 'rls-not-enabled')
    expect(finding?.table).toBe(`${schema}.we"ird`)
    await fixture.sql(finding!.fix)
    expect((await fixture.check({ schema })).findings.map((f) => f.ruleId)).not.toContain('rls-not-enabled')
    const { rows } = await harness.admin.query(`SELECT to_regclass('public.items') IS NOT NULL AS present`)
    expect(rows[0].present).toBe(true)
  })
})
