import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())

describe('the app role', () => {
  it('is not superuser, not BYPASSRLS, cannot create roles or databases, and belongs to no role', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication,
              (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships
         FROM pg_roles r WHERE rolname = $1`,
      [db.cluster.appRole],
    )
    expect(rows).toEqual([
      {
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
        memberships: 0,
      },
    ])
  })

  it('owns nothing: no table, schema, function, type or sequence', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
            + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
            + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
            + (SELECT count(*) FROM pg_type WHERE typowner = r.oid) AS owned
         FROM pg_roles r WHERE rolname = $1`,
      [db.cluster.appRole],
    )
    expect(Number(rows[0].owned)).toBe(0)
  })

  it('holds only DML on tenant tables: no TRUNCATE, REFERENCES or TRIGGER, nothing on platform tables', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT c.relname, p.privilege, has_table_privilege($1, c.oid, p.privilege) AS granted
         FROM pg_class c CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p (privilege)
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
        ORDER BY 1, 2`,
      [db.cluster.appRole],
    )
    const granted = rows.filter((row) => row.granted).map((row) => `${row.relname}:${row.privilege}`)
    expect(granted).toEqual([
      'articles:DELETE',
      'articles:INSERT',
      'articles:SELECT',
      'articles:UPDATE',
      'items:DELETE',
      'items:INSERT',
      'items:SELECT',
      'items:UPDATE',
      'tenant_storage:SELECT',
      'tenants:SELECT',
    ])
  })

  it('reads users through column grants that leave out password_hash', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT attname FROM pg_attribute
        WHERE attrelid = 'public.users'::regclass AND attnum > 0 AND NOT attisdropped
          AND has_column_privilege($1, attrelid, attnum, 'SELECT')
        ORDER BY attnum`,
      [db.cluster.appRole],
    )
    expect(rows.map((row) => row.attname)).toEqual(['tenant_id', 'id', 'name', 'created_at'])
  })
})

describe('every tenant table', () => {
  const tenantTables = ['articles', 'items', 'tenant_storage', 'tenants', 'users']

  it('has row-level security enabled and forced', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
          AND (relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = pg_class.oid AND attname = 'tenant_id'))
        ORDER BY relname`,
    )
    expect(rows).toEqual(
      tenantTables.map((relname) => ({ relname, relrowsecurity: true, relforcerowsecurity: true })),
    )
  })

  it('has a restrictive tenant floor for the app role, and every app-role policy checks the tenant', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT tablename, policyname, permissive, cmd, roles::text[] AS roles, qual, with_check FROM pg_policies
        WHERE schemaname = 'public' ORDER BY tablename, policyname`,
    )
    const forApp = rows.filter((row) => row.roles.includes(db.cluster.appRole))
    const floors = forApp.filter((row) => row.permissive === 'RESTRICTIVE' && row.cmd === 'ALL')
    expect(floors.map((row) => row.tablename)).toEqual(tenantTables)
    const tenantCheck = /(tenant_id|id) = \( SELECT rowfence\.current_tenant_id\(\) AS current_tenant_id\)/
    for (const policy of forApp) {
      const expressions = {
        ALL: [policy.qual, policy.with_check],
        UPDATE: [policy.qual, policy.with_check],
        SELECT: [policy.qual],
        DELETE: [policy.qual],
        INSERT: [policy.with_check],
      }[policy.cmd as 'ALL'] as string[]
      for (const expression of expressions) expect(`${policy.policyname}: ${expression}`).toMatch(tenantCheck)
    }
  })

  it('reads the context through a STABLE function that returns NULL when unset', async () => {
    const { rows } = await db.pool('admin').query(
      `SELECT provolatile, rowfence.current_tenant_id() IS NULL AS unset_is_null
         FROM pg_proc WHERE oid = 'rowfence.current_tenant_id()'::regprocedure`,
    )
    expect(rows).toEqual([{ provolatile: 's', unset_is_null: true }])
  })

  it('plans the tenant predicate as an index condition with the context as an InitPlan', async () => {
    const client = await db.pool('app').connect()
    try {
      await client.query('BEGIN')
      await client.query(`SELECT set_config('rowfence.tenant_id', gen_random_uuid()::text, true)`)
      await client.query('SET LOCAL enable_seqscan = off')
      const { rows } = await client.query('EXPLAIN (COSTS OFF) SELECT * FROM items ORDER BY title')
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n')
      expect(plan).toMatch(/InitPlan/)
      // PostgreSQL 17+ prints the InitPlan output as (InitPlan 1).col1, older servers as $0.
      expect(plan).toMatch(/Index Cond: \(tenant_id = (\(InitPlan 1\)\.col1|\$0)\)/)
      expect(plan).not.toMatch(/Filter/)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
  })
})
