import { currentTransaction, RowfenceError, TenantPool, type TenantContext } from '@rowfence/core'
import type { HeaderSource } from '@rowfence/http'
import type pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { tenantA as A, tenantB as B } from './orm-fixture.ts'
import { requestFixtureSql } from './request-fixture.ts'
import { createTestDatabase, type TestDatabase } from './test-database.ts'
import { testResolver, tokenFor } from './test-tokens.ts'

/** A framework-neutral route: the framework test wires `handle` into a real route of its app. */
export interface ContractRoute {
  readonly method: 'GET' | 'POST'
  readonly path: string
  /** Returns the response to send, or throws (the framework's error path). */
  handle(body: Record<string, unknown>): Promise<{ status: number; body: unknown }>
}

export interface ContractResponse {
  readonly status: number
  readonly body: unknown
}

export interface ContractServer {
  request(
    method: 'GET' | 'POST',
    path: string,
    init?: { headers?: Record<string, string>; body?: unknown },
  ): Promise<ContractResponse>
  close(): Promise<void>
}

export interface ContractServerOptions {
  readonly database: pg.Pool
  /** The verified-token resolver every framework gets (it reads Node headers and Fetch API Requests). */
  readonly resolve: (request: HeaderSource) => Promise<TenantContext>
  readonly routes: readonly ContractRoute[]
  /** Where 5xx errors go (kept quiet in tests). */
  readonly report: (error: unknown) => void
}

export type ContractServerFactory = (options: ContractServerOptions) => Promise<ContractServer>

/** Resolves when `count` callers have arrived: two requests meet in the middle of their transactions. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return async () => {
    arrived += 1
    if (arrived === count) open()
    await opened
  }
}

/**
 * The guarantees every rowfence middleware gives, on real PostgreSQL: nothing of a failed request is
 * committed (a throw, a 5xx, a known 4xx error), a failed COMMIT is the response (not a 200 after the
 * fact), tenants stay apart under interleaving, a request without a valid token is a 401 that takes no
 * connection, and a request that never queries takes none either.
 */
export function describeMiddlewareContract(framework: string, createServer: ContractServerFactory): void {
  describe(`${framework}: the request transaction contract`, () => {
    let db: TestDatabase
    let pool: pg.Pool
    let admin: pg.Pool
    let server: ContractServer
    let acquired = 0
    let meet = barrier(2)
    const tenantPool = { current: undefined as TenantPool | undefined }

    const insert = (title: unknown) =>
      currentTransaction()!.query('INSERT INTO request_notes (title) VALUES ($1)', [String(title)])
    const titlesOf = async (tenantId: string) =>
      (
        await admin.query<{ title: string }>(
          'SELECT title FROM request_notes WHERE tenant_id = $1 ORDER BY title',
          [tenantId],
        )
      ).rows.map((row) => row.title)

    const routes: ContractRoute[] = [
      {
        method: 'POST',
        path: '/notes',
        async handle(body) {
          // Through a TenantPool, as the ORM adapters query: it finds the request's transaction by itself.
          await tenantPool.current!.query('INSERT INTO request_notes (title) VALUES ($1)', [
            String(body.title),
          ])
          return { status: 201, body: { ok: true } }
        },
      },
      {
        method: 'GET',
        path: '/notes',
        async handle() {
          const result = await currentTransaction()!.query<{ title: string }>(
            'SELECT title FROM request_notes ORDER BY title',
          )
          return { status: 200, body: result.rows.map((row) => row.title) }
        },
      },
      {
        method: 'POST',
        path: '/throws',
        async handle(body) {
          await insert(body.title)
          throw new Error('handler failed after its INSERT')
        },
      },
      {
        method: 'POST',
        path: '/not-found',
        async handle(body) {
          await insert(body.title)
          throw new RowfenceError('ROWFENCE_NOT_FOUND')
        },
      },
      {
        method: 'POST',
        path: '/answers-500',
        async handle(body) {
          await insert(body.title)
          return { status: 500, body: { code: 'APP_FAILED', message: 'The app answered 500 itself' } }
        },
      },
      {
        method: 'POST',
        path: '/deferred-violation',
        async handle(body) {
          // Both INSERTs succeed; the deferred unique constraint fails at COMMIT.
          await insert(body.title)
          await insert(body.title)
          return { status: 200, body: { ok: true } }
        },
      },
      {
        method: 'POST',
        path: '/caught-error',
        async handle(body) {
          await insert(body.title)
          // The handler swallows a failed statement and answers 200: COMMIT can only roll back.
          await currentTransaction()!
            .query('SELECT 1/0')
            .catch(() => undefined)
          return { status: 200, body: { ok: true } }
        },
      },
      {
        method: 'POST',
        path: '/connection-cut',
        async handle(body) {
          await insert(body.title)
          const { pid } = (
            await currentTransaction()!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
          ).rows[0]!
          await admin.query('SELECT pg_terminate_backend($1)', [pid])
          return { status: 200, body: { ok: true } }
        },
      },
      {
        method: 'POST',
        path: '/interleaved',
        async handle(body) {
          await insert(body.title)
          await meet() // the other tenant's request has written too, and is open on another connection
          const result = await currentTransaction()!.query<{ title: string }>(
            'SELECT title FROM request_notes ORDER BY title',
          )
          return { status: 200, body: result.rows.map((row) => row.title) }
        },
      },
      {
        method: 'GET',
        path: '/no-query',
        async handle() {
          return { status: 200, body: { ok: true } }
        },
      },
    ]

    beforeAll(async () => {
      db = await createTestDatabase()
      await db.pool('owner').query(requestFixtureSql)
      admin = db.pool('admin')
      pool = db.pool('app', { max: 4 })
      pool.on('acquire', () => (acquired += 1))
      tenantPool.current = new TenantPool(pool)
      server = await createServer({
        database: pool,
        resolve: testResolver(),
        routes,
        report: () => undefined,
      })
    })
    afterAll(async () => {
      await server?.close()
      await db?.drop()
    })
    beforeEach(async () => {
      await admin.query('TRUNCATE request_notes')
      meet = barrier(2)
    })

    const post = async (tenantId: string, path: string, title: string) =>
      server.request('POST', path, {
        headers: { authorization: `Bearer ${await tokenFor(tenantId)}` },
        body: { title },
      })

    it('commits a successful request before answering, through the ORM path (TenantPool)', async () => {
      const response = await post(A.id, '/notes', 'kept')
      expect(response.status).toBe(201)
      // Committed before the response was sent: visible to the next reader at once.
      expect(await titlesOf(A.id)).toEqual(['kept'])
      const list = await server.request('GET', '/notes', {
        headers: { authorization: `Bearer ${await tokenFor(A.id)}` },
      })
      expect(list).toEqual({ status: 200, body: ['kept'] })
    })

    it('a handler that throws after its INSERT commits nothing (500, generic body)', async () => {
      const response = await post(A.id, '/throws', 'thrown')
      expect(response.status).toBe(500)
      expect(response.body).toEqual({ code: 'ROWFENCE_INTERNAL', message: 'Internal server error' })
      expect(await titlesOf(A.id)).toEqual([])
    })

    it('a handler that throws a 4xx catalogue error commits nothing either', async () => {
      const response = await post(A.id, '/not-found', 'not-found')
      expect(response.status).toBe(404)
      expect(response.body).toMatchObject({ code: 'ROWFENCE_NOT_FOUND' })
      expect(await titlesOf(A.id)).toEqual([])
    })

    it('a 5xx response commits nothing', async () => {
      const response = await post(A.id, '/answers-500', 'five-hundred')
      expect(response.status).toBe(500)
      expect(await titlesOf(A.id)).toEqual([])
    })

    it('a COMMIT that fails on a deferred constraint is the response (409), not 200', async () => {
      const response = await post(A.id, '/deferred-violation', 'twice')
      expect(response.status).toBe(409)
      expect(response.body).toEqual({
        code: 'ROWFENCE_CONFLICT',
        message: 'The request conflicts with existing data',
      })
      expect(JSON.stringify(response.body)).not.toMatch(/request_notes|Key \(|INSERT/)
      expect(await titlesOf(A.id)).toEqual([])
    })

    it('a statement error the handler swallowed makes COMMIT roll back: a 500, not 200', async () => {
      const response = await post(A.id, '/caught-error', 'swallowed')
      expect(response).toEqual({
        status: 500,
        body: {
          code: 'ROWFENCE_TRANSACTION_ABORTED',
          message: 'A statement of the transaction failed, so COMMIT rolled it back: nothing was saved',
        },
      })
      expect(await titlesOf(A.id)).toEqual([])
    })

    it('a connection cut before COMMIT is a 503, not 200; the process and the pool go on', async () => {
      const response = await post(A.id, '/connection-cut', 'cut')
      expect(response.status).toBe(503)
      expect(['ROWFENCE_DATABASE_UNAVAILABLE', 'ROWFENCE_COMMIT_UNKNOWN']).toContain(
        (response.body as { code: string }).code,
      )
      expect(await titlesOf(A.id)).toEqual([])
      expect((await post(A.id, '/notes', 'after')).status).toBe(201)
      expect(await titlesOf(A.id)).toEqual(['after'])
    })

    it('two interleaved requests of different tenants on one pool each see only their own rows', async () => {
      const [a, b] = await Promise.all([
        post(A.id, '/interleaved', 'from-a'),
        post(B.id, '/interleaved', 'from-b'),
      ])
      expect(a).toEqual({ status: 200, body: ['from-a'] })
      expect(b).toEqual({ status: 200, body: ['from-b'] })
      expect(await titlesOf(A.id)).toEqual(['from-a'])
      expect(await titlesOf(B.id)).toEqual(['from-b'])
    })

    it('without a valid token: 401 before any connection is taken', async () => {
      const before = { acquired, total: pool.totalCount }
      const attempts: Record<string, string>[] = [
        {},
        { authorization: 'Bearer not-a-jwt' },
        { authorization: `Bearer ${await tokenFor(A.id, { audience: 'another-service' })}` },
        { authorization: `Bearer ${await tokenFor(A.id, { expired: true })}` },
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      ]
      for (const headers of attempts) {
        const response = await server.request('POST', '/notes', { headers, body: { title: 'intruder' } })
        expect(response.status).toBe(401)
        expect(response.body).toMatchObject({ code: 'ROWFENCE_UNAUTHENTICATED' })
      }
      expect({ acquired, total: pool.totalCount }).toEqual(before)
      expect(await titlesOf(A.id)).toEqual([])
    })

    it('a route that never queries takes no connection', async () => {
      const before = acquired
      const response = await server.request('GET', '/no-query', {
        headers: { authorization: `Bearer ${await tokenFor(A.id)}` },
      })
      expect(response).toEqual({ status: 200, body: { ok: true } })
      expect(acquired).toBe(before)
    })
  })
}
