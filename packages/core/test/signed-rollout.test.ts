import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  defineContextConfig,
  generateContextKey,
  queryAsTenant,
  withTenant,
  type TenantContextConfig,
} from '@rowfence/core'
import { addContextKey, listContextKeys, loadMigrations, migrate } from '@rowfence/core/migrate'
import { demoMigrationsDir, itemsDemo, SIGNED_CONTEXT_MIGRATION } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/**
 * Moving an existing schema from the plain to the signed context with no window where requests see
 * nothing (docs/signed-context.md): the key is installed before the migration (addContextKey creates the
 * key table), the app signs with `sendPlain`, and the signed migration is applied while requests run. On
 * the demo as it was before its migration 0007.
 */
describe('from the plain to the signed context without downtime', () => {
  let db: TestDatabase
  let owner: pg.Pool
  let app: pg.Pool
  const key = generateContextKey({ prefix: 'rollout-' })
  const rollout = defineContextConfig({ signing: { key, sendPlain: true } })
  const signedOnly = defineContextConfig({ signing: { key } })
  const [a, b] = [itemsDemo.tenants[0]!, itemsDemo.tenants[1]!]
  let aItems: string[] = []

  const itemsOf = async (config: TenantContextConfig, tenantId: string = a.id): Promise<string[]> => {
    const { rows } = await queryAsTenant<{ id: string; tenant_id: string }>(
      app,
      { tenantId },
      'SELECT id, tenant_id FROM items ORDER BY id',
      [],
      { contextConfig: config },
    )
    return rows.map((row) => `${row.tenant_id}/${row.id}`)
  }

  beforeAll(async () => {
    db = await createTestDatabase({ plainContext: true })
    owner = db.pool('owner', { max: 1 })
    app = db.pool('app', { max: 4 })
  })
  afterAll(async () => {
    await db.drop()
  })

  it('installs the key before the migration: the key table is created, and the app role cannot read it', async () => {
    await addContextKey(owner, key)
    expect((await listContextKeys(owner)).map((entry) => entry.id)).toEqual([key.id])
    await expect(app.query('SELECT * FROM rowfence.context_keys')).rejects.toMatchObject({ code: '42501' })
  })

  it('before the migration: signing alone sees nothing, signing with sendPlain sees A', async () => {
    expect(await itemsOf(signedOnly)).toEqual([])
    aItems = await itemsOf(rollout)
    expect(aItems.length).toBeGreaterThan(0)
    expect(aItems.every((item) => item.startsWith(`${a.id}/`))).toBe(true)
  })

  it('the migration applied while requests run: every request sees exactly A, before, during and after', async () => {
    const seen: string[][] = []
    let migrated = false
    let afterMigration = 0
    let beforeOrDuring = 0
    const requests = (async () => {
      while (!migrated || afterMigration < 20) {
        seen.push(await itemsOf(rollout))
        if (migrated) afterMigration++
        else beforeOrDuring++
      }
    })()
    const { applied } = await migrate(owner, { migrations: await loadMigrations(demoMigrationsDir) })
    migrated = true
    await requests
    expect(applied.map((migration) => migration.id)).toContain(SIGNED_CONTEXT_MIGRATION)
    expect(beforeOrDuring).toBeGreaterThan(0)
    expect(afterMigration).toBe(20)
    expect(seen.filter((items) => JSON.stringify(items) !== JSON.stringify(aItems))).toEqual([])
  })

  it('after the migration: only the signed value counts; the plain settings still sent are ignored', async () => {
    expect(await itemsOf(signedOnly)).toEqual(aItems)
    // the attacker's move on a plain schema: set B's id in A's transaction; signed, it switches nothing
    const injected = await withTenant(
      app,
      { tenantId: a.id },
      async (tx) => {
        await tx.query("SELECT set_config('rowfence.tenant_id', $1, true)", [b.id])
        const { rows } = await tx.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM items')
        return rows.map((row) => row.tenant_id)
      },
      { contextConfig: rollout },
    )
    expect(injected).toEqual([a.id])
  })

  it('refuses a sendPlain that is not a boolean, and a key for a database without the rowfence schema', async () => {
    expect(() => defineContextConfig({ signing: { key, sendPlain: 'yes' as unknown as boolean } })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_CONFIG_INVALID' }),
    )
    const empty = await createTestDatabase({ empty: true })
    try {
      await expect(addContextKey(empty.pool('owner', { max: 1 }), key)).rejects.toMatchObject({
        code: 'ROWFENCE_CONFIG_INVALID',
      })
    } finally {
      await empty.drop()
    }
  })
})
