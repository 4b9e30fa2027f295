import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  defineContextConfig,
  formatContextKey,
  generateContextKey,
  parseContextKey,
  queryAsTenant,
  withTenant,
  type TenantQueryable,
} from '@rowfence/core'
import { keyBytes, SIGNED_VALUE_CACHE_SIZE, signContextCached } from '../src/context/signed-context.ts'
import { addContextKey, retireContextKey } from '@rowfence/core/migrate'
import {
  A,
  asA,
  B,
  a1,
  b1,
  createNotesDatabase,
  forgedValues,
  key,
  signedContextConfig as contextConfig,
  type NotesDatabase,
} from '../../../test/support/signed-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

/**
 * The signed context against SQL injection, on real PostgreSQL: the app role, inside tenant A's
 * transaction, runs what an injected statement could run. None of it reaches tenant B.
 */

const options = { contextConfig }

let notes: NotesDatabase
let owner: pg.Pool
let app: pg.Pool

let bBefore: unknown
beforeAll(async () => {
  notes = await createNotesDatabase()
  owner = notes.owner
  app = notes.app
  bBefore = await notes.bNotes()
})
afterAll(async () => notes?.drop())

/** Runs `sql` as the app role inside A's signed transaction; returns the tenants whose notes it saw. */
async function injectedInA(sql: string, values: unknown[] = []): Promise<string[]> {
  return withTenant(
    app,
    asA,
    async (tx: TenantQueryable) => {
      const { rows } = await tx.query<{ tenant_id: string }>(sql, values)
      return [...new Set(rows.map((row) => row.tenant_id))]
    },
    options,
  )
}

describe('the signed context: tenant A injects SQL to become tenant B', () => {
  it("A's own requests work: tenant, user and claims verified in the database", async () => {
    const seen = await withTenant(
      app,
      asA,
      async (tx) =>
        (
          await tx.query(
            `SELECT rowfence.current_tenant_id() AS t, rowfence.current_user_id() AS u,
                    rowfence.current_claim('role') AS role, (SELECT count(*)::int FROM notes) AS notes`,
          )
        ).rows[0],
      options,
    )
    expect(seen).toEqual({ t: A, u: a1, role: 'editor', notes: 1 })
  })

  it('setting the plain tenant setting, in the same statement or before, changes nothing', async () => {
    expect(
      await injectedInA(
        `SELECT tenant_id FROM notes WHERE (SELECT set_config('rowfence.tenant_id', $1, true)) IS NOT NULL`,
        [B],
      ),
    ).toEqual([A])
    expect(
      await injectedInA(
        `SELECT n.tenant_id FROM (SELECT set_config('rowfence.tenant_id', $1, true)) s, LATERAL (SELECT * FROM notes) n`,
        [B],
      ),
    ).toEqual([A])
  })

  it.each(forgedValues)('a context value %s sees 0 rows of B and cannot write into B', async (_, value) => {
    const setting = value()
    const seen = await injectedInA(
      `SELECT n.tenant_id FROM (SELECT set_config('rowfence.context', $1, true)) s, LATERAL (SELECT * FROM notes) n`,
      [setting],
    )
    expect(seen).not.toContain(B)
    await expect(
      withTenant(
        app,
        asA,
        async (tx) => {
          await tx.query(`SELECT set_config('rowfence.context', $1, true)`, [setting])
          return tx.query(`INSERT INTO notes (tenant_id, author_id, body) VALUES ($1, $2, 'pwned')`, [B, b1])
        },
        options,
      ),
    ).rejects.toMatchObject({ code: '42501' })
    const changed = await withTenant(
      app,
      asA,
      async (tx) => {
        await tx.query(`SELECT set_config('rowfence.context', $1, true)`, [setting])
        const updated = await tx.query(`UPDATE notes SET body = 'pwned' WHERE tenant_id = $1`, [B])
        const deleted = await tx.query(`DELETE FROM notes WHERE tenant_id = $1`, [B])
        return updated.rowCount! + deleted.rowCount!
      },
      options,
    )
    expect(changed).toBe(0)
  })

  it('RESET, SET ROLE, reading the keys and calling the context functions with arguments all fail', async () => {
    expect(
      await injectedInA(`SELECT n.tenant_id FROM (SELECT 1) s, LATERAL (SELECT * FROM notes) n`),
    ).toEqual([A])
    const afterReset = await withTenant(
      app,
      asA,
      async (tx) => {
        await tx.query('RESET rowfence.context')
        return (await tx.query('SELECT count(*)::int AS n FROM notes')).rows[0]!.n as number
      },
      options,
    )
    expect(afterReset).toBe(0)
    for (const [sql, code] of [
      ['SET ROLE rowfence_owner', '42501'],
      ['SELECT * FROM rowfence.context_keys', '42501'],
      [`SELECT rowfence.current_tenant_id('${B}')`, '42883'],
    ] as const) {
      await expect(withTenant(app, asA, (tx) => tx.query(sql), options)).rejects.toMatchObject({ code })
    }
  })

  it("B's rows are exactly as before every attack", async () => {
    expect(await notes.bNotes()).toEqual(bBefore)
  })
})

describe('signing on the hot path', () => {
  const signing = { key: { id: 'cache', secret: randomBytes(32).toString('hex') }, ttlSeconds: 60 }
  const ctx = (userId: string) => ({ tenantId: A, userId, claims: {} })
  const expiryOf = (value: string): number =>
    (JSON.parse(Buffer.from(value.split('.')[2]!, 'hex').toString('utf8')) as { exp: number }).exp

  it('reuses a value while half its validity is left, then signs a fresh one', () => {
    const t0 = 1_800_000_000_000
    const first = signContextCached(ctx('u1'), 'A/u1', signing, t0)
    expect(signContextCached(ctx('u1'), 'A/u1', signing, t0 + 29_000)).toBe(first)
    const other = signContextCached(ctx('u2'), 'A/u2', signing, t0 + 29_000)
    expect(other).not.toBe(first)
    const renewed = signContextCached(ctx('u1'), 'A/u1', signing, t0 + 30_000)
    expect(renewed).not.toBe(first)
    expect(expiryOf(renewed) - expiryOf(first)).toBe(30)
    // whatever is handed out has at least half the TTL left
    expect(expiryOf(first) * 1000 - (t0 + 29_000)).toBeGreaterThanOrEqual(30_000)
  })

  it('stays bounded: the oldest context is signed again after the cache is full', () => {
    const bounded = { key: signing.key, ttlSeconds: 60 }
    const t0 = 1_800_000_000_000
    const first = signContextCached(ctx('u0'), 'first', bounded, t0)
    for (let i = 0; i < SIGNED_VALUE_CACHE_SIZE; i++) {
      signContextCached(ctx(`u${i}`), `ctx ${i}`, bounded, t0)
    }
    expect(signContextCached(ctx('u0'), 'first', bounded, t0 + 1000)).not.toBe(first)
  })
})

describe('key rotation', () => {
  it('a second key verifies at once; a retired key stops verifying', async () => {
    const k2 = { id: 'k2', secret: randomBytes(32).toString('base64') }
    const withK2 = {
      contextConfig: defineContextConfig({ signing: { key: k2 }, claims: { role: 'app.role' } }),
    }
    const count = async (opts: typeof options) =>
      (await queryAsTenant(app, asA, 'SELECT count(*)::int AS n FROM notes', [], opts)).rows[0]!.n as number
    await expect(count(withK2)).resolves.toBe(0) // not installed yet
    await addContextKey(owner, k2)
    await expect(count(withK2)).resolves.toBe(1)
    await expect(count(options)).resolves.toBe(1) // both valid during the rollover
    expect(await retireContextKey(owner, 'k1')).toBe(true)
    await expect(count(options)).resolves.toBe(0)
    await expect(count(withK2)).resolves.toBe(1)
    await addContextKey(owner, key) // back for the other tests
  })

  it('a generated key is 32 random bytes, round-trips through its text form and verifies once installed', async () => {
    const generated = generateContextKey({ prefix: 'gen-' })
    expect(generated.id).toMatch(/^gen-\d{14}$/)
    expect(keyBytes(generated)).toHaveLength(32)
    expect(generateContextKey().secret).not.toBe(generateContextKey().secret)
    expect(parseContextKey(formatContextKey(generated))).toEqual(generated)
    const fromBytes = { id: 'bytes', secret: randomBytes(32) }
    expect(keyBytes(parseContextKey(formatContextKey(fromBytes)))).toEqual(Buffer.from(fromBytes.secret))
    expect(() => generateContextKey({ id: 'not a key id' })).toThrow(
      expect.objectContaining({ code: 'ROWFENCE_CONFIG_INVALID' }),
    )
    const withGenerated = {
      contextConfig: defineContextConfig({ signing: { key: generated }, claims: { role: 'app.role' } }),
    }
    const count = async () =>
      (await queryAsTenant(app, asA, 'SELECT count(*)::int AS n FROM notes', [], withGenerated)).rows[0]!
        .n as number
    await expect(count()).resolves.toBe(0)
    await addContextKey(owner, generated)
    await expect(count()).resolves.toBe(1)
    expect(await retireContextKey(owner, generated.id)).toBe(true)
    await expect(count()).resolves.toBe(0)
  })
})

describe('the same injection against the plain (unsigned) context', () => {
  const injected = async (database: TestDatabase, attacker: string, victim: string) =>
    withTenant(database.pool('app'), { tenantId: attacker }, async (tx) => {
      const { rows } = await tx.query<{ tenant_id: string }>(
        `SELECT n.tenant_id FROM (SELECT set_config('rowfence.tenant_id', $1, true)) s,
                LATERAL (SELECT * FROM items) n`,
        [victim],
      )
      return [...new Set(rows.map((row) => row.tenant_id))]
    })

  it('switches tenant: why the signed context exists (the demo before migration 0007, plain settings)', async () => {
    const plain = await createTestDatabase({ plainContext: true })
    try {
      const { itemsDemo } = await import('@rowfence/demo')
      const [tenantA, tenantB] = [itemsDemo.tenants[0]!, itemsDemo.tenants[1]!]
      expect(await injected(plain, tenantA.id, tenantB.id)).toEqual([tenantB.id])
    } finally {
      await plain.drop()
    }
  })

  it('changes nothing on the demo as it is (signed since migration 0007): A still sees only A', async () => {
    const demo = await createTestDatabase()
    try {
      const { itemsDemo } = await import('@rowfence/demo')
      const [tenantA, tenantB] = [itemsDemo.tenants[0]!, itemsDemo.tenants[1]!]
      expect(await injected(demo, tenantA.id, tenantB.id)).toEqual([tenantA.id])
    } finally {
      await demo.drop()
    }
  })
})
