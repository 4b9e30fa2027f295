import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkDatabase, checkRules } from '@rowfence/core/check'
import { main } from '../../packages/cli/src/main.ts'
import { citus, citusSuite, closeAll, poolFor } from './support/citus-cluster.ts'

let owner: pg.Pool
let superuser: pg.Pool

beforeAll(() => {
  if (!citus) return
  owner = poolFor('owner', 2)
  superuser = poolFor('superuser', 2)
})
afterAll(() => closeAll())

/** Citus mistakes, each in a table of its own, in a schema of their own. */
const fixturesSql = [
  `CREATE SCHEMA citus_fixtures`,
  `CREATE TABLE citus_fixtures.left_local (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id))`,
  `CREATE TABLE citus_fixtures.by_id (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (id, tenant_id))`,
  `SELECT create_distributed_table('citus_fixtures.by_id', 'id')`,
  `CREATE TABLE citus_fixtures.apart (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id))`,
  `SELECT create_distributed_table('citus_fixtures.apart', 'tenant_id', colocate_with => 'none')`,
  `CREATE TABLE citus_fixtures.sub_policy (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id))`,
  `CREATE POLICY sub_policy_read ON citus_fixtures.sub_policy FOR SELECT
     USING (tenant_id = (SELECT rowfence.current_tenant_id()))`,
  `CREATE TABLE citus_fixtures.coded (tenant_id uuid NOT NULL, id uuid NOT NULL, code text NOT NULL,
     PRIMARY KEY (tenant_id, id), CONSTRAINT coded_code_key UNIQUE (code))`,
  `CREATE TABLE citus_fixtures.floored (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id))`,
  `SELECT create_distributed_table('citus_fixtures.floored', 'tenant_id', colocate_with => 'public.items')`,
  `CREATE POLICY floored_floor ON citus_fixtures.floored AS RESTRICTIVE FOR ALL
     USING (tenant_id = rowfence.current_tenant_id()) WITH CHECK (tenant_id = rowfence.current_tenant_id())`,
]

describe.skipIf(!citus)(citusSuite('Citus and RESTRICTIVE policies'), () => {
  it('Citus creates a RESTRICTIVE policy on the shards as PERMISSIVE (why the Citus flavour has no floor)', async () => {
    await superuser.query(
      `CREATE TABLE restrictive_probe (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id))`,
    )
    try {
      await superuser.query(`SELECT create_distributed_table('restrictive_probe', 'tenant_id')`)
      await superuser.query(`CREATE POLICY restrictive_probe_floor ON restrictive_probe AS RESTRICTIVE FOR ALL
        USING (tenant_id = rowfence.current_tenant_id())`)
      const onCoordinator = await superuser.query(
        `SELECT permissive FROM pg_policies WHERE tablename = 'restrictive_probe'`,
      )
      expect(onCoordinator.rows).toEqual([{ permissive: 'RESTRICTIVE' }])
      const worker = new pg.Client(citus!.workerSuperuserUrls[0]!)
      await worker.connect()
      try {
        await worker.query(`SET citus.show_shards_for_app_name_prefixes = '*'`)
        const { rows } = await worker.query<{ permissive: string }>(
          `SELECT DISTINCT permissive FROM pg_policies WHERE tablename LIKE 'restrictive\\_probe\\_%'`,
        )
        // If a Citus release keeps RESTRICTIVE on the shards, this fails: then the floor can come back.
        expect(rows).toEqual([{ permissive: 'PERMISSIVE' }])
      } finally {
        await worker.end()
      }
    } finally {
      await superuser.query('DROP TABLE restrictive_probe')
    }
  })
})

describe.skipIf(!citus)(citusSuite('rowfence check on Citus'), () => {
  it('the Citus demo database comes out clean', async () => {
    const report = await checkDatabase(owner, { schema: 'public', appRole: 'rowfence_app' })
    expect(report.tenantTables).toEqual(['public.articles', 'public.items', 'public.users'])
    expect(report.findings.filter((finding) => finding.severity !== 'info')).toEqual([])
  })

  it('the CLI says so too (exit 0)', async () => {
    const out: string[] = []
    const err: string[] = []
    const code = await main(['check', '--database-url', citus!.ownerUrl], {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    })
    expect({ code, err: err.join('\n') }).toEqual({ code: 0, err: '' })
    expect(out.join('\n')).toContain(`3 tenant tables checked with ${checkRules.length} rules`)
  })

  it('flags a tenant table left undistributed, not co-located or distributed by another column, a subquery policy, a unique key without the distribution column and a RESTRICTIVE policy', async () => {
    for (const statement of fixturesSql) await superuser.query(statement)
    try {
      const report = await checkDatabase(superuser, { schema: 'citus_fixtures', appRole: 'rowfence_app' })
      const found = report.findings
        .filter((finding) => finding.ruleId.startsWith('citus-'))
        .map((finding) => `${finding.ruleId} ${finding.table} ${finding.object}`)
        .sort()
      expect(found).toEqual([
        'citus-policy-subquery citus_fixtures.sub_policy sub_policy_read',
        'citus-restrictive-policy citus_fixtures.floored floored_floor',
        'citus-tenant-table-not-co-located citus_fixtures.apart "tenant_id"',
        'citus-tenant-table-not-co-located citus_fixtures.by_id "tenant_id"',
        'citus-tenant-table-not-co-located citus_fixtures.coded "tenant_id"',
        'citus-tenant-table-not-co-located citus_fixtures.left_local "tenant_id"',
        'citus-tenant-table-not-co-located citus_fixtures.sub_policy "tenant_id"',
        'citus-unique-without-distribution-column citus_fixtures.coded coded_code_key',
      ])
    } finally {
      await superuser.query('DROP SCHEMA citus_fixtures CASCADE')
    }
  })
})
