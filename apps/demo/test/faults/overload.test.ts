import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantDatabase } from '@rowfence/core'
import { buildApp, itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.ts'
import { bearer, buildTestApp, TEST_SECRET, tokenFor } from '../support.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())

describe('health and overload over HTTP', () => {
  it('pool exhausted: 503 ROWFENCE_DATABASE_BUSY with Retry-After, /readyz 503, /healthz 200; then recovery', async () => {
    const pool = db.pool('app', { max: 1, connectionTimeoutMillis: 200 })
    const app = await buildTestApp(pool)
    const headers = bearer(await tokenFor(itemsDemo.tenants[0]!.id))
    try {
      expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' })
      const held = await pool.connect()
      const busy = await app.inject({ url: '/items/', headers })
      expect(busy.statusCode).toBe(503)
      expect(busy.headers['retry-after']).toBe('1')
      expect(busy.json()).toEqual({
        code: 'ROWFENCE_DATABASE_BUSY',
        message: 'No database connection became free in time; retry later',
      })
      const notReady = await app.inject({ url: '/readyz' })
      expect(notReady.statusCode).toBe(503)
      expect(notReady.headers['retry-after']).toBe('1')
      expect(Object.keys(notReady.json()).sort()).toEqual(['code', 'message'])
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200)
      held.release()
      expect((await app.inject({ url: '/items/', headers })).statusCode).toBe(200)
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })

  it('database down: /readyz and tenant routes answer 503 ROWFENCE_DATABASE_UNAVAILABLE, /healthz 200', async () => {
    const url = new URL(db.appUrl)
    url.port = '1'
    const pool = db.pool('app', { connectionString: url.toString(), max: 1 })
    const app = await buildTestApp(pool)
    try {
      const response = await app.inject({
        url: '/items/',
        headers: bearer(await tokenFor(itemsDemo.tenants[0]!.id)),
      })
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('1')
      expect(response.json().code).toBe('ROWFENCE_DATABASE_UNAVAILABLE')
      expect((await app.inject({ url: '/readyz' })).json().code).toBe('ROWFENCE_DATABASE_UNAVAILABLE')
      expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    } finally {
      await app.close()
    }
  })

  it('a body trickled slowly, or a stalled one, is cut by the request and idle timeouts', async () => {
    const app = await buildApp({
      db: createTenantDatabase(db.pool('app')),
      authPool: db.pool('auth'), // POST /api/tokens reads its body before answering
      jwtSecret: TEST_SECRET,
      logger: false,
      timeouts: { idleMs: 1000, requestMs: 1500 },
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const port = (app.server.address() as { port: number }).port
    /** Sends headers announcing a body, then one byte every `everyMs` (never, if 0); resolves when the server closes. */
    const slowBody = (everyMs: number) =>
      new Promise<number>((resolve) => {
        const started = performance.now()
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.write(
            'POST /api/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
          )
        })
        const timer = everyMs > 0 ? setInterval(() => socket.write(' '), everyMs) : undefined
        socket.on('error', () => undefined)
        socket.on('close', () => {
          clearInterval(timer)
          resolve(performance.now() - started)
        })
        socket.resume()
      })
    try {
      const [trickled, stalled] = await Promise.all([slowBody(300), slowBody(0)])
      expect(trickled).toBeLessThan(4000)
      expect(stalled).toBeLessThan(3000)
    } finally {
      await app.close()
    }
  })
})
