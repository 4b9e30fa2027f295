import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  defineContextConfig,
  queryAsTenant,
  withTenant,
  type TenantContext,
  type TenantContextConfig,
  type TenantQueryable,
} from '@rowfence/core'
import { checkDatabase } from '@rowfence/core/check'
import { addContextKey, listContextKeys, retireContextKey } from '@rowfence/core/migrate'
import { citus, citusSuite } from './support/citus-cluster.ts'

/**
 * The signed context on Citus: the policies of a distributed table run on the workers, inside the
 * shard queries, so the verification (the context functions, the key table) must be there too. As the
 * app role in tenant A's set-local transaction: A sees its notes on every shard; a forged value, the
 * plain tenant setting and B's id spliced into A's value see nothing of B; writes into B fail; a retired
 * key stops verifying on the workers.
 */

const signed = citus?.signed
const pools: pg.Pool[] = []
let app: pg.Pool
let owner: pg.Pool
let superuser: pg.Pool
let config: TenantContextConfig
const options = () => ({ contextConfig: config, contextMode: 'set-local' as const })

const A = () => signed!.tenants[0]
const B = () => signed!.tenants[1]
const asA = (): TenantContext => ({ tenantId: A().tenantId, userId: A().userId })

function pool(url: string): pg.Pool {
  const created = new pg.Pool({ connectionString: url, max: 4 })
  pools.push(created)
  return created
}

beforeAll(() => {
  if (!signed) return
  app = pool(signed.appUrl)
  owner = pool(signed.ownerUrl)
  superuser = pool(signed.superuserUrl)
  config = defineContextConfig({ signing: { key: signed.key } })
})
afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
})

/** The tenants whose notes a statement run in A's transaction sees (multi-shard unless it names one). */
async function seenInA(
  sql: string,
  values: unknown[] = [],
  before?: (tx: TenantQueryable) => Promise<unknown>,
  contextConfig: TenantContextConfig = config,
): Promise<string[]> {
  return withTenant(
    app,
    asA(),
    async (tx) => {
      if (before) await before(tx)
      const { rows } = await tx.query<{ tenant_id: string }>(sql, values)
      return [...new Set(rows.map((row) => row.tenant_id))]
    },
    { contextConfig, contextMode: 'set-local' },
  )
}

async function bNotes(): Promise<unknown[]> {
  return (await superuser.query('SELECT * FROM notes WHERE tenant_id = $1 ORDER BY id', [B().tenantId])).rows
}

describe.skipIf(!signed)(citusSuite('Citus: the signed context verifies on the workers'), () => {
  it('every node has the key table, owner-only, with the key', async () => {
    for (const url of signed!.workerSuperuserUrls) {
      const worker = new pg.Client(url)
      await worker.connect()
      try {
        const { rows } = await worker.query<{ id: string; app_can_read: boolean }>(
          `SELECT id, has_table_privilege($1, 'rowfence.context_keys', 'SELECT') AS app_can_read
             FROM rowfence.context_keys`,
          [new URL(signed!.appUrl).username],
        )
        expect(rows).toEqual([{ id: signed!.key.id, app_can_read: false }])
      } finally {
        await worker.end()
      }
    }
  })

  it("A's multi-shard and router queries see A's notes only", async () => {
    expect(await seenInA('SELECT tenant_id FROM notes')).toEqual([A().tenantId])
    expect(await seenInA('SELECT tenant_id FROM notes WHERE tenant_id = $1', [A().tenantId])).toEqual([
      A().tenantId,
    ])
    expect(await seenInA('SELECT tenant_id FROM notes WHERE tenant_id = $1', [B().tenantId])).toEqual([])
    const single = await queryAsTenant(app, asA(), 'SELECT tenant_id FROM notes', undefined, options())
    expect(single.rows.map((row) => row.tenant_id)).toEqual([A().tenantId])
  })

  it('a value signed with a guessed key, or none, sees nothing', async () => {
    const guessed = defineContextConfig({
      signing: { key: { id: signed!.key.id, secret: randomBytes(32).toString('hex') } },
    })
    expect(await seenInA('SELECT tenant_id FROM notes', [], undefined, guessed)).toEqual([])
    expect(await seenInA('SELECT tenant_id FROM notes', [], undefined, defineContextConfig({}))).toEqual([])
  })

  it("setting the plain tenant setting, or splicing B's id into A's value, reaches no row of B", async () => {
    const plain = await seenInA('SELECT tenant_id FROM notes', [], (tx) =>
      tx.query(`SET LOCAL rowfence.tenant_id = '${B().tenantId}'`),
    )
    expect(plain).toEqual([A().tenantId])
    const spliced = await seenInA('SELECT tenant_id FROM notes', [], async (tx) => {
      const { rows } = await tx.query<{ value: string }>(
        `SELECT current_setting('rowfence.context') AS value`,
      )
      const [version, keyId, payload, mac] = rows[0]!.value.split('.')
      const forged = Buffer.from(
        Buffer.from(payload!, 'hex').toString('utf8').replace(A().tenantId, B().tenantId),
      ).toString('hex')
      // SET LOCAL (propagated to the workers), the value validated as hex and dots by this test
      if (!/^[0-9a-f.A-Za-z_-]+$/.test(`${version}.${keyId}.${forged}.${mac}`)) throw new Error('bad value')
      await tx.query(`SET LOCAL rowfence.context = '${version}.${keyId}.${forged}.${mac}'`)
    })
    expect(spliced).toEqual([])
  })

  it('cannot write into B, and B is unchanged', async () => {
    const before = await bNotes()
    const insert = withTenant(
      app,
      asA(),
      (tx) =>
        tx.query('INSERT INTO notes (tenant_id, author_id, body) VALUES ($1, $2, $3)', [
          B().tenantId,
          A().userId,
          'planted',
        ]),
      options(),
    )
    await expect(insert).rejects.toMatchObject({ code: '42501' })
    const update = await withTenant(
      app,
      asA(),
      (tx) => tx.query(`UPDATE notes SET body = 'changed' WHERE tenant_id = $1`, [B().tenantId]),
      options(),
    )
    expect(update.rowCount).toBe(0)
    expect(await bNotes()).toEqual(before)
    // A writes its own notes on its shard
    const own = await withTenant(
      app,
      asA(),
      (tx) =>
        tx.query('INSERT INTO notes (tenant_id, author_id, body) VALUES ($1, $2, $3) RETURNING tenant_id', [
          A().tenantId,
          A().userId,
          'own',
        ]),
      options(),
    )
    expect(own.rows).toEqual([{ tenant_id: A().tenantId }])
  })

  it('a retired key stops verifying on the workers; adding it back restores it', async () => {
    expect(await retireContextKey(owner, signed!.key.id)).toBe(true)
    try {
      expect(await seenInA('SELECT tenant_id FROM notes')).toEqual([])
      for (const url of signed!.workerSuperuserUrls) {
        const worker = new pg.Client(url)
        await worker.connect()
        try {
          const { rows } = await worker.query(
            'SELECT not_after IS NOT NULL AS retired FROM rowfence.context_keys',
          )
          expect(rows).toEqual([{ retired: true }])
        } finally {
          await worker.end()
        }
      }
    } finally {
      await addContextKey(owner, signed!.key)
    }
    expect(await seenInA('SELECT tenant_id FROM notes')).toEqual([A().tenantId])
    expect((await listContextKeys(owner)).map((key) => key.id)).toEqual([signed!.key.id])
  })

  it('rowfence check: no finding but info, and the context is not forgeable', async () => {
    const report = await checkDatabase(owner, {
      schema: 'public',
      appRole: new URL(signed!.appUrl).username,
    })
    expect(report.tenantTables).toEqual(['public.notes'])
    expect(report.findings.filter((finding) => finding.severity !== 'info')).toEqual([])
    expect(report.findings.filter((finding) => finding.ruleId === 'context-forgeable')).toEqual([])
  })
})
