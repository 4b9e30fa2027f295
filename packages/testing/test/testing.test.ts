import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { asTenant, expectTenantIsolation, TenantIsolationError } from '@rowfence/testing'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

const A = '11111111-1111-4111-8111-111111111111'
const B = '22222222-2222-4222-8222-222222222222'

let db: TestDatabase
let admin: pg.Pool
beforeAll(async () => {
  db = await createTestDatabase()
  const url = new URL(db.cluster.adminUrl)
  url.pathname = `/${db.name}`
  admin = new pg.Pool({ connectionString: url.toString(), max: 2 })
  await admin.query(`
    CREATE TABLE public.secure_notes (
      tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), body text, PRIMARY KEY (tenant_id, id));
    ALTER TABLE public.secure_notes ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.secure_notes FORCE ROW LEVEL SECURITY;
    CREATE POLICY secure_notes_tenant ON public.secure_notes
      USING (tenant_id = (SELECT rowfence.current_tenant_id()))
      WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.secure_notes TO ${db.cluster.appRole};
    CREATE TABLE public.open_notes (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (tenant_id, id));
    GRANT SELECT ON public.open_notes TO ${db.cluster.appRole};
    INSERT INTO public.secure_notes (tenant_id, body) VALUES ('${A}', 'a'), ('${B}', 'b');
    INSERT INTO public.open_notes (tenant_id) VALUES ('${A}'), ('${B}');`)
})
afterAll(async () => {
  await admin.end()
  await db.drop()
})

describe('asTenant', () => {
  it('runs as one tenant with the context set transaction-locally, and rolls back', async () => {
    const bodies = await asTenant(
      admin,
      A,
      async (client) => {
        await client.query(`INSERT INTO public.secure_notes (tenant_id, body) VALUES ($1, 'new')`, [A])
        return (await client.query<{ body: string }>('SELECT body FROM public.secure_notes ORDER BY body'))
          .rows
      },
      // The demo schema verifies a signed context: asTenant signs it as the app does.
      { role: db.cluster.appRole, contextConfig: db.contextConfig },
    )
    expect(bodies.map((row) => row.body)).toEqual(['a', 'new'])
    const count = await admin.query('SELECT count(*)::int AS n FROM public.secure_notes')
    expect(count.rows[0].n).toBe(2)
  })
})

describe('expectTenantIsolation', () => {
  it('passes for isolated tables', async () => {
    const report = await expectTenantIsolation({
      pool: admin,
      tables: ['secure_notes'],
      appRole: db.cluster.appRole,
      tenants: [A, B],
    })
    expect(report.leaked).toEqual([])
  })

  it('fails the test with every leak and its statement', async () => {
    const failure = await expectTenantIsolation({
      pool: admin,
      tables: ['open_notes'],
      appRole: db.cluster.appRole,
      tenants: [A, B],
    }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(TenantIsolationError)
    expect((failure as TenantIsolationError).message).toContain('public.open_notes read')
    expect((failure as TenantIsolationError).message).toContain(
      'SELECT count(*) AS n FROM "public"."open_notes"',
    )
  })
})
