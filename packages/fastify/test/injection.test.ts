import { currentTransaction, TenantPool } from '@rowfence/core'
import { rowfence } from '@rowfence/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import type { QueryResult } from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  contextAttacks,
  ownNotesSql,
  piggybackInsert,
  piggybackRead,
  piggybackUpdate,
  plainSettingAttack,
  refusedStatements,
  seenAfter,
  setConfig,
  tenantsIn,
  writesIntoB,
} from '../../../test/support/injection-attacks.ts'
import {
  A,
  a1,
  B,
  b1,
  createNotesDatabase,
  respliced,
  seeded,
  type NotesDatabase,
} from '../../../test/support/signed-fixture.ts'
import { testResolver, tokenFor } from '../../../test/support/test-tokens.ts'

/**
 * Issue 18 over HTTP: tenant A, authenticated by a verified token, sends SQL injections through a
 * deliberately injectable route. With the signed context none reaches tenant B; with the plain context
 * the same injection switches tenant (the contrast at the end).
 */

interface SearchResponse {
  readonly status: number
  readonly body: { org?: string[]; rows?: unknown[]; code?: string }
}

interface VulnerableServer {
  search(tenantId: string, userId: string, q: string): Promise<SearchResponse>
  close(): Promise<void>
}

/**
 * DELIBERATELY VULNERABLE, TEST ONLY: `GET /notes?q=` concatenates `q` into its SQL text, the bug issue 18
 * assumes some app will have. Never copy this route. Its SQL carries no values, so node-postgres sends it
 * as a simple query, which also runs stacked statements (`x'; ...; --`); every row of every statement goes
 * back to the client, so whatever the injection could see, the response shows.
 */
async function vulnerableServer(fixture: NotesDatabase): Promise<VulnerableServer> {
  const app: FastifyInstance = Fastify({ logger: false })
  const database = new TenantPool(fixture.app, { contextConfig: fixture.contextConfig })
  await app.register(rowfence, { database, resolve: testResolver() })
  app.get('/notes', async function searchNotesInjectable(request) {
    const q = String((request.query as { q?: unknown }).q ?? '')
    const tx = currentTransaction()!
    const org = await tx.query<{ name: string }>('SELECT name FROM orgs')
    const result: QueryResult | QueryResult[] = await tx.query(
      `SELECT tenant_id::text AS tenant_id, body FROM notes WHERE body LIKE '%${q}%' ORDER BY body`,
    )
    const results = Array.isArray(result) ? result : [result]
    return { org: org.rows.map((row) => row.name), rows: results.flatMap((each) => each.rows) }
  })
  await app.ready()
  return {
    async search(tenantId, userId, q) {
      const token = await tokenFor(tenantId, { subject: userId })
      const response = await app.inject({
        method: 'GET',
        url: '/notes',
        query: { q },
        headers: { authorization: `Bearer ${token}` },
      })
      return { status: response.statusCode, body: response.json() }
    },
    close: () => app.close(),
  }
}

/** Closes what an injection opened and comments out the rest of the route's SQL. */
const stacked = (...statements: string[]) => `x'; ${statements.join('; ')}; --`
const unionAll = (select: string) => `x' UNION ALL ${select} --`

const aSearch = { status: 200, body: { org: ['alpha'], rows: [{ tenant_id: A, body: seeded[A]!.note }] } }

describe('HTTP: tenant A injects SQL through a route to become tenant B (signed context)', () => {
  let fixture: NotesDatabase
  let server: VulnerableServer
  let bBefore: unknown[]
  beforeAll(async () => {
    fixture = await createNotesDatabase()
    server = await vulnerableServer(fixture)
    bBefore = await fixture.bNotes()
  })
  afterAll(async () => {
    await server?.close()
    await fixture?.drop()
  })

  const asA = (q: string) => server.search(A, a1, q)
  /** Nothing of B in the response: no row of B's tenant, not B's note, not B's org. */
  const expectNothingOfB = (response: SearchResponse) => {
    expect(tenantsIn(response.body.rows ?? [])).not.toContain(B)
    expect(JSON.stringify(response.body)).not.toMatch(new RegExp(`${seeded[B]!.note}|${seeded[B]!.org}`))
  }

  it('the route works for A and for B, each seeing its own notes', async () => {
    expect(await asA('alpha')).toEqual(aSearch)
    expect(await server.search(B, b1, '')).toEqual({
      status: 200,
      body: { org: ['bravo'], rows: [{ tenant_id: B, body: seeded[B]!.note }] },
    })
  })

  describe.each(contextAttacks)('$name', (attack) => {
    it('reads: 0 rows of B, in the same statement and in the statements after it', async () => {
      if (attack.setting !== undefined) {
        const piggybacked = await asA(unionAll(piggybackRead(attack.setting)))
        expect(piggybacked.status).toBe(200)
        expect(tenantsIn(piggybacked.body.rows!)).toEqual(seenAfter(attack))
        expectNothingOfB(piggybacked)
      }
      const after = await asA(stacked(attack.statement, ownNotesSql))
      expect(after.status).toBe(200)
      expect(tenantsIn(after.body.rows!)).toEqual(seenAfter(attack))
      expectNothingOfB(after)
      expect(await asA('alpha')).toEqual(aSearch)
    })

    it('writes into B: the insert is a 403, updates and deletes change nothing', async () => {
      const insert = await asA(stacked(attack.statement, writesIntoB.insert))
      expect(insert).toEqual({ status: 403, body: expect.objectContaining({ code: 'ROWFENCE_FORBIDDEN' }) })
      const changes = await asA(stacked(attack.statement, writesIntoB.update, writesIntoB.delete))
      expect(changes.status).toBe(200)
      if (attack.setting !== undefined) {
        const planted = await asA(stacked(piggybackInsert(attack.setting)))
        expect(planted).toEqual({
          status: 403,
          body: expect.objectContaining({ code: 'ROWFENCE_FORBIDDEN' }),
        })
        expect((await asA(stacked(piggybackUpdate(attack.setting)))).status).toBe(200)
      }
      expect(await fixture.bNotes()).toEqual(bBefore)
      expect(await asA('alpha')).toEqual(aSearch)
    })
  })

  it.each(refusedStatements)('%s is refused (%s: SQLSTATE %s)', async (_, sql, sqlstate) => {
    const response = await asA(stacked(sql))
    expect(response.status).toBe(sqlstate === '42501' ? 403 : 500)
    expect(Object.keys(response.body).sort()).toEqual(['code', 'message'])
    expectNothingOfB(response)
  })

  it("A's own value, read through the injection and replayed with B's id spliced in, sees nothing", async () => {
    // The value comes back in the tenant_id column of the route's rows.
    const leak = await asA(unionAll(`SELECT current_setting('rowfence.context'), 'leaked'`))
    const value = tenantsIn(leak.body.rows!).find((column) => column.startsWith('v1.'))!
    expect(JSON.parse(Buffer.from(value.split('.')[2]!, 'hex').toString('utf8'))).toMatchObject({
      t: A,
      u: a1,
    })
    for (const replayed of [respliced(value, A, B), value]) {
      const response = await asA(unionAll(piggybackRead(setConfig('rowfence.context', replayed))))
      expectNothingOfB(response)
      // Unchanged, the value is A's own: a replay stays within A (docs/signed-context.md, "What it cannot stop").
      expect(tenantsIn(response.body.rows!)).toEqual(replayed === value ? [A] : [])
    }
  })

  it("B's notes are exactly as before every attack; A's requests are unaffected", async () => {
    expect(await fixture.bNotes()).toEqual(bBefore)
    expect(await asA('alpha')).toEqual(aSearch)
  })
})

describe('HTTP contrast: the same injection against the plain (unsigned) context', () => {
  it('switches tenant: B rows come back and B can be written (why the signed context exists)', async () => {
    const fixture = await createNotesDatabase({ signed: false })
    const server = await vulnerableServer(fixture)
    try {
      const asA = (q: string) => server.search(A, a1, q)
      expect(await asA('alpha')).toEqual(aSearch)
      for (const q of [
        unionAll(piggybackRead(plainSettingAttack.setting!)),
        stacked(plainSettingAttack.statement, ownNotesSql),
      ]) {
        const response = await asA(q)
        expect(response.status).toBe(200)
        expect(tenantsIn(response.body.rows!)).toContain(B)
        expect(JSON.stringify(response.body)).toContain(seeded[B]!.note)
      }
      const write = await asA(stacked(plainSettingAttack.statement, writesIntoB.update))
      expect(write.status).toBe(200)
      expect(await fixture.bNotes()).toEqual([expect.objectContaining({ body: 'pwned' })])
    } finally {
      await server.close()
      await fixture.drop()
    }
  })
})
