/**
 * Live probes (issue 15): a deliberately broken schema, where each hole is reported LEAKED with its
 * statement; the demo schema, where every probe is blocked; and nothing probed is left behind.
 */
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeDatabase, type ProbeReport } from '@rowfence/core/check'
import { createCheckHarness, goodTable, type CheckHarness, type Fixture } from './harness.ts'

const A = '11111111-1111-4111-8111-111111111111'
const B = '22222222-2222-4222-8222-222222222222'

let harness: CheckHarness
let fixture: Fixture
beforeAll(async () => {
  harness = await createCheckHarness()
  fixture = await harness.fixture(`
    ${goodTable('projects')}
    ALTER TABLE {schema}.projects ADD CONSTRAINT projects_id_key UNIQUE (id);
    -- A business key without the tenant column: an existence oracle.
    ALTER TABLE {schema}.projects ADD COLUMN code text UNIQUE;
    -- Missing WITH CHECK tenant pin.
    CREATE TABLE {schema}.tasks (
      tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), project_id uuid REFERENCES {schema}.projects (id),
      PRIMARY KEY (tenant_id, id));
    ALTER TABLE {schema}.tasks ENABLE ROW LEVEL SECURITY;
    ALTER TABLE {schema}.tasks FORCE ROW LEVEL SECURITY;
    CREATE POLICY tasks_access ON {schema}.tasks USING (tenant_id = {ctx}) WITH CHECK (true);
    GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.tasks TO {app};
    -- Fails open without a context.
    CREATE TABLE {schema}.notes (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (tenant_id, id));
    ALTER TABLE {schema}.notes ENABLE ROW LEVEL SECURITY;
    ALTER TABLE {schema}.notes FORCE ROW LEVEL SECURITY;
    CREATE POLICY notes_access ON {schema}.notes
      USING (rowfence.current_tenant_id() IS NULL OR tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
    GRANT SELECT ON {schema}.notes TO {app};
    -- TRIGGER granted on an otherwise good table.
    ${goodTable('files')}
    GRANT TRIGGER ON {schema}.files TO {app};
    -- No RLS at all.
    CREATE TABLE {schema}.logs (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (tenant_id, id));
    GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.logs TO {app};`)
  // Two tenants' rows, written by the superuser (RLS does not apply to it).
  await harness.admin.query(
    `INSERT INTO ${q(fixture.schema)}.projects (tenant_id, id, code) VALUES ($1, gen_random_uuid(), 'A-1'), ($2, gen_random_uuid(), 'B-1');
     INSERT INTO ${q(fixture.schema)}.tasks (tenant_id, project_id)
       SELECT tenant_id, id FROM ${q(fixture.schema)}.projects;
     INSERT INTO ${q(fixture.schema)}.notes (tenant_id) VALUES ($1), ($2);
     INSERT INTO ${q(fixture.schema)}.files (tenant_id) VALUES ($1), ($2);
     INSERT INTO ${q(fixture.schema)}.logs (tenant_id) VALUES ($1), ($2);`
      .replaceAll('$1', `'${A}'`)
      .replaceAll('$2', `'${B}'`),
  )
})
afterAll(async () => harness.drop())

function q(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

const leaks = (report: ProbeReport): string[] =>
  report.leaked.map((result) => `${result.table.split('.')[1]} ${result.probe}`).sort()

/** Row counts of every table in the schemas, and counts of the catalog objects a probe could add. */
async function state(pool: pg.Pool, schemas: readonly string[]): Promise<unknown> {
  const tables = await pool.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p') ORDER BY 1`,
    [schemas],
  )
  const counts: Record<string, number> = {}
  for (const { name } of tables.rows) {
    counts[name] = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n)
  }
  const catalog = await pool.query(
    `SELECT (SELECT count(*) FROM pg_trigger) AS triggers, (SELECT count(*) FROM pg_policy) AS policies,
            (SELECT count(*) FROM pg_class WHERE relpersistence <> 't') AS relations,
            (SELECT count(*) FROM pg_proc) AS functions`,
  )
  return { counts, catalog: catalog.rows[0] }
}

describe('probes on a deliberately broken schema', () => {
  let report: ProbeReport
  let before: unknown
  beforeAll(async () => {
    before = await state(harness.admin, [fixture.schema])
    report = await probeDatabase(harness.admin, {
      schema: fixture.schema,
      appRole: fixture.appRole,
      tenants: [A, B],
    })
  })

  it('reports each hole LEAKED, and nothing else', () => {
    expect(leaks(report)).toEqual([
      'files trigger',
      'logs delete',
      'logs insert',
      'logs plant',
      'logs read',
      'logs read-without-context',
      'logs update',
      'notes read-without-context',
      'projects unique-probe',
      'tasks insert',
      // 'tasks plant' is blocked: PostgreSQL also checks an updated row against the SELECT policy.
      'tasks re-parent',
    ])
  })

  it('shows the statement that leaked, run as the app role with the inferred context', () => {
    expect(report.context).toContain("set_config('rowfence.tenant_id'")
    const insert = report.leaked.find(
      (result) => result.table.endsWith('.tasks') && result.probe === 'insert',
    )!
    expect(insert.statement).toMatch(/^INSERT INTO ".+"\."tasks"/)
    expect(insert.statement).toContain(B)
    const read = report.leaked.find((result) => result.probe === 'read-without-context')!
    expect(read.statement).toBe(
      `SELECT count(*) AS n FROM ${q(read.table.split('.')[0]!)}.${q(read.table.split('.')[1]!)} WHERE "tenant_id"::text = '${B}'`,
    )
  })

  it('blocks what the policies do stop', () => {
    const blocked = report.results
      .filter((result) => result.outcome === 'blocked')
      .map((r) => `${r.table.split('.')[1]} ${r.probe}`)
    expect(blocked).toEqual(
      expect.arrayContaining(['projects read', 'projects insert', 'tasks read', 'notes read', 'files read']),
    )
  })

  it('leaves nothing behind: row counts and catalog unchanged', async () => {
    expect(await state(harness.admin, [fixture.schema])).toEqual(before)
  })

  it('infers the two tenants from the data when not told', async () => {
    const inferred = await probeDatabase(harness.admin, { schema: fixture.schema, appRole: fixture.appRole })
    expect([...inferred.tenants].sort()).toEqual([A, B])
    expect(inferred.leaked.length).toBeGreaterThan(0)
  })

  it('refuses to run inside a transaction, or without a way to set the context', async () => {
    const client = await harness.admin.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT 1')
      await expect(
        probeDatabase(client, { schema: fixture.schema, appRole: fixture.appRole }),
      ).rejects.toMatchObject({
        code: 'ROWFENCE_PROBE_REFUSED',
      })
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    const bare = await harness.fixture(`
      CREATE TABLE {schema}.t (tenant_id uuid NOT NULL);
      GRANT SELECT ON {schema}.t TO {app};`)
    await expect(
      probeDatabase(harness.admin, { schema: bare.schema, appRole: bare.appRole, tenants: [A, B] }),
    ).rejects.toMatchObject({
      code: 'ROWFENCE_PROBE_REFUSED',
    })
  })
})

describe('probes on the demo schema', () => {
  it('blocks every probe, and leaves nothing behind', async () => {
    const before = await state(harness.admin, ['public'])
    const started = performance.now()
    const report = await probeDatabase(harness.admin, {
      schema: 'public',
      appRole: harness.db.cluster.appRole,
    })
    const elapsed = Math.round(performance.now() - started)
    expect(report.leaked).toEqual([])
    expect(report.results.filter((result) => result.outcome === 'blocked').length).toBeGreaterThan(10)
    expect(await state(harness.admin, ['public'])).toEqual(before)
    console.info(`demo schema probe: ${report.results.length} attempts in ${elapsed} ms`)
  })
})
