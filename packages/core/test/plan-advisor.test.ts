import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  asTenant,
  AUTO_STATEMENT_PREFIX,
  MAX_AUTO_PREPARED,
  TenantPool,
  planChoices,
  planShape,
  queryAsTenant,
  SAMPLES_TO_DECIDE,
  withTenant,
  type PlanChoiceReport,
} from '@rowfence/core'
import { itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

const tenants = itemsDemo.tenants.map((tenant) => tenant.id)
const [A, B] = tenants as [string, string]

let db: TestDatabase
let generic16: boolean
beforeAll(async () => {
  db = await createTestDatabase()
  const owner = db.pool('owner')
  const version = await owner.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)
  generic16 = Number(version.rows[0]!.v) >= 160000
  // A status column where one value is 95% of the rows and another 0.05%: the plan for a rare value is not the plan for
  // the common one, so a generic plan would be wrong for one of them.
  await owner.query(`
    CREATE TABLE orders (
      tenant_id uuid NOT NULL DEFAULT rowfence.current_tenant_id() REFERENCES tenants (id),
      id bigint GENERATED ALWAYS AS IDENTITY,
      status text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX orders_tenant_created ON orders (tenant_id, created_at);
    CREATE INDEX orders_tenant_status ON orders (tenant_id, status);
    ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
    ALTER TABLE orders FORCE ROW LEVEL SECURITY;
    CREATE POLICY orders_tenant_floor ON orders AS RESTRICTIVE FOR ALL TO PUBLIC
      USING (tenant_id = (SELECT rowfence.current_tenant_id()))
      WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
    CREATE POLICY orders_select ON orders FOR SELECT TO PUBLIC
      USING (tenant_id = (SELECT rowfence.current_tenant_id()));
    CREATE POLICY orders_insert ON orders FOR INSERT TO PUBLIC
      WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
    GRANT SELECT ON orders TO ${db.cluster.appRole};
  `)
  for (const tenant of tenants) {
    await withTenant(owner, { tenantId: tenant }, (tx) =>
      tx.query(
        `INSERT INTO orders (status, created_at)
         SELECT CASE WHEN g % 2000 = 0 THEN 'flagged' WHEN g % 100 < 95 THEN 'active' ELSE 'archived' END,
                now() - g * interval '1 minute'
         FROM generate_series(1, 20000) g`,
      ),
    )
  }
  await owner.query('ANALYZE orders')
})
afterAll(async () => db.drop())

function choiceOf(name: string): PlanChoiceReport | undefined {
  return planChoices().find((report) => report.name === name)
}

async function planCounts(pool: pg.Pool, name: string): Promise<{ generic: number; custom: number }> {
  const { rows } = await pool.query<{ generic: string; custom: string }>(
    `SELECT generic_plans AS generic, custom_plans AS custom FROM pg_prepared_statements WHERE name = $1`,
    [name],
  )
  return { generic: Number(rows[0]?.generic ?? 0), custom: Number(rows[0]?.custom ?? 0) }
}

const LIST = `SELECT id, title, tenant_id FROM items WHERE tenant_id = $1 ORDER BY title LIMIT $2`
/** An optional cursor: the generic plan can only filter by it, so its values decide how many rows it reads. */
const LIST_OPTIONAL_CURSOR = `SELECT id, title, tenant_id FROM items WHERE tenant_id = $1 AND ($2::text IS NULL OR title > $2)
              ORDER BY title LIMIT $3`

describe('plan advisor', () => {
  it('moves a tenant-leading statement to the generic plan after agreeing samples, and stays isolated', async () => {
    const pool = db.pool('app', { max: 1 })
    const name = 'advisor_list'
    for (let i = 0; i < SAMPLES_TO_DECIDE + 3; i++) {
      const tenant = tenants[i % tenants.length]!
      await queryAsTenant(pool, { tenantId: tenant }, { name, text: LIST, values: [tenant, 10 + i] })
    }
    const report = choiceOf(name)!
    if (!generic16) {
      // Before PostgreSQL 16 there is no EXPLAIN (GENERIC_PLAN): PostgreSQL's own choice, as before.
      expect(report.choice).toBe('custom')
      expect(report.reason).toMatch(/GENERIC_PLAN/)
      return
    }
    expect(report).toMatchObject({ choice: 'generic', agreeingSamples: SAMPLES_TO_DECIDE })
    const before = await planCounts(pool, name)
    // Tenant B through the plan cached while A and others ran: B's rows only, the same rows a custom plan gives.
    const generic = await queryAsTenant(pool, { tenantId: B }, { name, text: LIST, values: [A, 50] })
    expect(generic.rows).toEqual([])
    const own = await queryAsTenant(pool, { tenantId: B }, { name, text: LIST, values: [B, 50] })
    const custom = await queryAsTenant(pool, { tenantId: B }, { text: LIST, values: [B, 50] })
    expect(own.rows.length).toBeGreaterThan(0)
    expect(own.rows).toEqual(custom.rows)
    expect(own.rows.every((row) => row.tenant_id === B)).toBe(true)
    const after = await planCounts(pool, name)
    expect(after.generic - before.generic).toBe(2)
    expect(after.custom).toBe(before.custom)
  })

  it('keeps custom plans when a skewed value needs another plan (95% / 0.05% status)', async () => {
    const pool = db.pool('app', { max: 1 })
    const name = 'advisor_orders_by_status'
    const text = `SELECT id, status FROM orders WHERE tenant_id = $1 AND status = $2 ORDER BY created_at LIMIT $3`
    const statuses = ['active', 'active', 'flagged', 'active', 'archived', 'active', 'flagged']
    for (const [i, status] of statuses.entries()) {
      const tenant = tenants[i % tenants.length]!
      const { rows } = await queryAsTenant(
        pool,
        { tenantId: tenant },
        { name, text, values: [tenant, status, 10] },
      )
      expect(rows.length).toBe(10)
      expect(rows.every((row) => row.status === status)).toBe(true)
    }
    const report = choiceOf(name)!
    expect(report.choice).toBe('custom')
    if (generic16) expect(report.reason).toMatch(/only filters rows.*status = \$2/)
    // And PostgreSQL is told so: it would otherwise switch to its generic plan after five executions.
    for (let i = 0; i < 8; i++)
      await queryAsTenant(pool, { tenantId: A }, { name, text, values: [A, 'flagged', 10] })
    if (generic16) {
      const counts = await planCounts(pool, name)
      expect(counts.generic).toBe(0)
      expect(counts.custom).toBe(statuses.length + 8)
    }
  })

  it('keeps custom plans for an optional filter ($2 IS NULL OR ...): a deep page would read from the start', async () => {
    const pool = db.pool('app', { max: 1 })
    const name = 'advisor_optional_cursor'
    for (let i = 0; i < SAMPLES_TO_DECIDE + 1; i++) {
      const tenant = tenants[i % tenants.length]!
      await queryAsTenant(
        pool,
        { tenantId: tenant },
        { name, text: LIST_OPTIONAL_CURSOR, values: [tenant, null, 10] },
      )
    }
    const report = choiceOf(name)!
    expect(report.choice).toBe('custom')
    if (generic16) expect(report.reason).toMatch(/only filters rows/)
  })

  it('decides inside withTenant too, and switches plan_cache_mode back for the statements that follow', async () => {
    const pool = db.pool('app', { max: 1 })
    const name = 'advisor_tx_list'
    const modeAfter = async (tenant: string, i: number): Promise<string> =>
      withTenant(pool, { tenantId: tenant }, async (tx) => {
        const { rows } = await tx.query({ name, text: LIST, values: [tenant, 5 + i] })
        expect(rows.every((row) => row.tenant_id === tenant)).toBe(true)
        // An unnamed statement with parameters after it: planned for its values, as PostgreSQL would.
        const mode = await tx.query<{ mode: string }>(
          `SELECT current_setting('plan_cache_mode') AS mode, $1::int AS n`,
          [i],
        )
        return mode.rows[0]!.mode
      })
    const modes: string[] = []
    for (let i = 0; i < SAMPLES_TO_DECIDE + 3; i++)
      modes.push(await modeAfter(tenants[i % tenants.length]!, i))
    expect(new Set(modes)).toEqual(new Set(['auto']))
    const report = choiceOf(name)!
    expect(report.choice).toBe(generic16 ? 'generic' : 'custom')
    if (generic16) expect((await planCounts(pool, name)).generic).toBeGreaterThan(0)
  })

  it('leaves statements with an explicit genericPlan, unnamed ones and pooler mode alone', async () => {
    const pool = db.pool('app', { max: 1 })
    for (let i = 0; i < SAMPLES_TO_DECIDE + 1; i++) {
      const tenant = tenants[i % tenants.length]!
      const values = [tenant, 3 + i]
      await queryAsTenant(
        pool,
        { tenantId: tenant },
        { name: 'advisor_off', text: LIST, values, genericPlan: false },
      )
      await queryAsTenant(
        pool,
        { tenantId: tenant },
        { name: 'advisor_pooler', text: LIST, values },
        undefined,
        {
          pooler: true,
        },
      )
      await withTenant(
        pool,
        { tenantId: tenant },
        (tx) => tx.query({ name: 'advisor_tx_off', text: LIST, values }),
        {
          genericPlans: false,
        },
      )
    }
    expect(choiceOf('advisor_off')).toBeUndefined()
    expect(choiceOf('advisor_pooler')).toBeUndefined()
    expect(choiceOf('advisor_tx_off')).toBeUndefined()
  })

  it('explains writes without running them: a sampled INSERT inserts once', async () => {
    const pool = db.pool('app', { max: 1 })
    const name = 'advisor_insert'
    const titles = Array.from({ length: 4 }, (_, i) => `advisor insert ${i} ${Date.now()}`)
    for (const title of titles) {
      await queryAsTenant(
        pool,
        { tenantId: A },
        { name, text: 'INSERT INTO items (title) VALUES ($1)', values: [title] },
      )
    }
    expect(choiceOf(name)?.executions).toBe(titles.length)
    const { rows } = await queryAsTenant(
      pool,
      { tenantId: A },
      'SELECT title FROM items WHERE title = ANY($1)',
      [titles],
    )
    expect(rows.map((row) => row.title).sort()).toEqual([...titles].sort())
  })
})

describe('ORM statements (TenantPool)', () => {
  async function preparedNames(pool: pg.Pool): Promise<string[]> {
    const { rows } = await pool.query<{ name: string }>(
      `SELECT name FROM pg_prepared_statements WHERE name LIKE $1 ORDER BY name`,
      [`${AUTO_STATEMENT_PREFIX}%`],
    )
    return rows.map((row) => row.name)
  }

  it('are prepared under a name derived from their text, and the advisor plans them', async () => {
    const pool = db.pool('app', { max: 1 })
    const orm = new TenantPool(pool)
    const text = `select "id", "title" from "items" where "tenant_id" = $1 order by "title" limit $2`
    for (let i = 0; i < SAMPLES_TO_DECIDE + 2; i++) {
      const tenant = tenants[i % tenants.length]!
      const { rows } = await asTenant({ tenantId: tenant }, () => orm.query(text, [tenant, 20 + i]))
      expect(rows.length).toBeGreaterThan(0)
    }
    // Inside a transaction too (an ORM's db.transaction()): same name, same prepared statement.
    await orm.withTenant({ tenantId: A }, async () => {
      const client = await orm.connect()
      try {
        await client.query(text, [A, 5])
      } finally {
        client.release()
      }
    })
    const names = await preparedNames(pool)
    expect(names).toHaveLength(1)
    const report = choiceOf(names[0]!)!
    expect(report.executions).toBe(SAMPLES_TO_DECIDE + 3)
    expect(report.choice).toBe(generic16 ? 'generic' : 'custom')
    // No parameters: nothing to prepare.
    await asTenant({ tenantId: A }, () => orm.query('select count(*) from items'))
    expect(await preparedNames(pool)).toHaveLength(1)
  })

  it('stay unnamed in pooler mode, and stop being prepared once a connection holds MAX_AUTO_PREPARED', async () => {
    const pooler = db.pool('app', { max: 1 })
    const viaPooler = new TenantPool(pooler, { pooler: true })
    await asTenant({ tenantId: A }, () => viaPooler.query('select $1::int + 1 as n', [1]))
    expect(await preparedNames(pooler)).toEqual([])

    const pool = db.pool('app', { max: 1 })
    const orm = new TenantPool(pool)
    const count = MAX_AUTO_PREPARED + 10
    for (let i = 0; i < count; i++) {
      const { rows } = await asTenant({ tenantId: A }, () => orm.query(`select $1::int + ${i} as n`, [1]))
      expect(rows[0]!.n).toBe(1 + i)
    }
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_prepared_statements')
    expect(Number(rows[0]!.n)).toBeLessThanOrEqual(MAX_AUTO_PREPARED)
    expect((await preparedNames(pool)).length).toBeGreaterThan(MAX_AUTO_PREPARED - 5)
  })
})

describe('planShape', () => {
  type PlanNode = Parameters<typeof planShape>[0]
  const node = (fields: Record<string, unknown>, plans: PlanNode[] = []): PlanNode => ({
    ...fields,
    Plans: plans,
  })
  it('ignores values, Result nodes and InitPlans, but not which conditions an index takes', () => {
    const initPlan = node({ 'Node Type': 'Result', 'Parent Relationship': 'InitPlan' })
    const custom = node({ 'Node Type': 'Limit' }, [
      initPlan,
      node({ 'Node Type': 'Result', 'One-Time Filter': "(x = 'a'::uuid)" }, [
        node({
          'Node Type': 'Index Scan',
          'Index Name': 'items_title_key',
          'Relation Name': 'items',
          'Index Cond': "(tenant_id = 'adeb7233-c5ad-48cc-8734-a729b12d3d6c'::uuid)",
        }),
      ]),
    ])
    const generic = node({ 'Node Type': 'Limit' }, [
      initPlan,
      node({
        'Node Type': 'Index Scan',
        'Index Name': 'items_title_key',
        'Relation Name': 'items',
        'Index Cond': '(tenant_id = $1)',
        Filter: '(($2 IS NULL) OR (title > $2))',
      }),
    ])
    expect(planShape(custom)).toBe(planShape(generic))
    const range = node({ 'Node Type': 'Limit' }, [
      node({
        'Node Type': 'Index Scan',
        'Index Name': 'items_title_key',
        'Relation Name': 'items',
        'Index Cond': "((tenant_id = 'adeb7233-c5ad-48cc-8734-a729b12d3d6c'::uuid) AND (title > 'k'::text))",
      }),
    ])
    expect(planShape(range)).not.toBe(planShape(generic))
    const timestamps = (value: string) =>
      planShape(node({ 'Node Type': 'Index Scan', 'Index Cond': `(created_at > ${value})` }))
    expect(timestamps("'2026-01-01 00:00:00+00'::timestamp with time zone")).toBe(timestamps('$2'))
  })
})
