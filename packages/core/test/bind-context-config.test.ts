import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bindContextConfig,
  contextConfigFor,
  createRequestTransaction,
  createTenantDatabase,
  queryAsTenant,
  TenantPool,
  withTenant,
} from '@rowfence/core'
import { itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/**
 * bindContextConfig on the demo database, which verifies a signed context (migration 0007): a pool the
 * signing config is bound to signs every unit of work; a pool without it sees nothing (fail closed).
 */

const A = itemsDemo.tenants[0]!
const items = 'SELECT DISTINCT tenant_id FROM items'

let db: TestDatabase
const pools: pg.Pool[] = []
/** An app-role pool opened directly, not through db.pool() (which binds the run's config). */
const rawPool = (): pg.Pool => {
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 2 })
  pools.push(pool)
  return pool
}

beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()))
  await db?.drop()
})

describe('bindContextConfig', () => {
  it('without it, a signed schema ignores the plain context: 0 rows, nothing leaked', async () => {
    const pool = rawPool()
    expect(contextConfigFor(pool, undefined)).toBeUndefined()
    expect((await queryAsTenant(pool, { tenantId: A.id }, items)).rows).toEqual([])
  })

  it('every unit of work on a bound pool signs: withTenant, queryAsTenant, TenantDatabase, TenantPool, request transactions', async () => {
    const pool = rawPool()
    bindContextConfig(pool, db.contextConfig!)
    const tenantOnly = [{ tenant_id: A.id }]
    expect(await withTenant(pool, { tenantId: A.id }, async (tx) => (await tx.query(items)).rows)).toEqual(
      tenantOnly,
    )
    expect((await queryAsTenant(pool, { tenantId: A.id }, items)).rows).toEqual(tenantOnly)
    const database = createTenantDatabase(pool)
    expect((await database.queryAsTenant({ tenantId: A.id }, items)).rows).toEqual(tenantOnly)
    const tenantPool = new TenantPool(pool)
    expect(
      await tenantPool.withTenant({ tenantId: A.id }, async (tx) => (await tx.query(items)).rows),
    ).toEqual(tenantOnly)
    const request = createRequestTransaction(database, { tenantId: A.id })
    const rows = await request.run(async () => (await request.transaction.query(items)).rows)
    await request.commit()
    expect(rows).toEqual(tenantOnly)
  })

  it("a unit of work's own contextConfig wins over the bound one", async () => {
    const pool = rawPool()
    bindContextConfig(pool, db.contextConfig!)
    const otherKey = { signing: { key: { id: 'not-installed', secret: 'ef'.repeat(32) } } }
    const result = await queryAsTenant(pool, { tenantId: A.id }, items, [], { contextConfig: otherKey })
    expect(result.rows).toEqual([])
  })

  it('validates the config when binding: ROWFENCE_CONFIG_INVALID, the pool left as it was', () => {
    const pool = rawPool()
    expect(() => bindContextConfig(pool, { signing: { key: { id: 'k', secret: 'abcd' } } })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_CONFIG_INVALID' }),
    )
    expect(() => bindContextConfig(pool, { tenantIdType: 'float' as never })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_CONFIG_INVALID' }),
    )
    expect(contextConfigFor(pool, undefined)).toBeUndefined()
  })
})
