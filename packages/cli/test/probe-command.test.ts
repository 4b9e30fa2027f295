import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/main.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

let db: TestDatabase
/** Probes run as a role that may SET ROLE to the app role: the superuser, on the per-file database. */
const adminUrl = (): string => {
  const url = new URL(db.cluster.adminUrl)
  url.pathname = `/${db.name}`
  return url.toString()
}
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['probe', ...argv], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('rowfence probe', () => {
  it('blocks every probe on the demo schema (exit 0) and says it rolled back', async () => {
    const result = await run('--url', adminUrl())
    expect(result.err).toBe('')
    expect(result.code).toBe(0)
    expect(result.out).toContain('rolled back')
    expect(result.out).not.toContain('LEAKED')
  })

  it('exits 1 with the statement when a table leaks', async () => {
    await db.pool('owner').query(`
      CREATE TABLE public.leaky (tenant_id uuid NOT NULL, id uuid PRIMARY KEY DEFAULT gen_random_uuid());
      GRANT SELECT ON public.leaky TO rowfence_app;
      INSERT INTO public.leaky (tenant_id)
        VALUES ('11111111-1111-4111-8111-111111111111'), ('22222222-2222-4222-8222-222222222222');`)
    try {
      const result = await run(
        '--url',
        adminUrl(),
        '--table',
        'leaky',
        '--tenants',
        '11111111-1111-4111-8111-111111111111,22222222-2222-4222-8222-222222222222',
      )
      expect(result.err).toBe('')
      expect(result.code).toBe(1)
      expect(result.out).toContain('LEAKED  read')
      expect(result.out).toMatch(/SELECT count\(\*\) AS n FROM "public"\."leaky" WHERE "tenant_id"::text = '/)
    } finally {
      await db.pool('owner').query('DROP TABLE public.leaky')
    }
  })

  it('exits 2 without a database or with a bad --tenants', async () => {
    const saved = process.env['DATABASE_URL']
    delete process.env['DATABASE_URL']
    try {
      expect((await run()).code).toBe(2)
    } finally {
      if (saved !== undefined) process.env['DATABASE_URL'] = saved
    }
    expect((await run('--url', db.ownerUrl, '--tenants', 'only-one')).code).toBe(2)
  })
})
