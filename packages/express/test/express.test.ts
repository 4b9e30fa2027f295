import type { AddressInfo } from 'node:net'
import express from 'express'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { currentTransaction } from '@rowfence/core'
import { insecureHeaderResolver, tenantErrorHandler, tenantTransaction } from '@rowfence/express'
import { tenantA } from '../../../test/support/orm-fixture.ts'
import { requestFixtureSql } from '../../../test/support/request-fixture.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { describeMiddlewareContract } from '../../../test/support/middleware-contract.ts'
import { listenAndFetch } from '../../../test/support/http-client.ts'

describeMiddlewareContract('Express', async ({ database, resolve, routes, report }) => {
  const app = express()
  app.use(express.json())
  app.use(tenantTransaction({ database, resolve, report }))
  for (const route of routes) {
    const register = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app)
    register(route.path, async (req, res) => {
      const result = await route.handle((req.body ?? {}) as Record<string, unknown>)
      res.status(result.status).json(result.body)
    })
  }
  app.use(tenantErrorHandler(report))
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  return listenAndFetch(server, (server.address() as AddressInfo).port)
})

describe('Express: a client that goes away', () => {
  let db: TestDatabase
  let pool: pg.Pool
  let admin: pg.Pool
  beforeAll(async () => {
    db = await createTestDatabase()
    await db.pool('owner').query(requestFixtureSql)
    admin = db.pool('admin')
    pool = db.pool('app', { max: 2 })
  })
  afterAll(async () => db?.drop())

  it('before any response: the transaction rolls back and the connection goes back to the pool', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let inserted!: () => void
    const didInsert = new Promise<void>((resolve) => (inserted = resolve))
    const app = express()
    app.use(tenantTransaction({ database: pool, resolve: insecureHeaderResolver(), report: () => undefined }))
    app.post('/slow', async (_req, res) => {
      await currentTransaction()!.query("INSERT INTO request_notes (title) VALUES ('abandoned')")
      inserted()
      await released
      res.json({ ok: true })
    })
    app.use(tenantErrorHandler(() => undefined))
    const server = app.listen(0, '127.0.0.1')
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    try {
      const abort = new AbortController()
      const request = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`, {
        method: 'POST',
        headers: { 'x-tenant-id': tenantA.id },
        signal: abort.signal,
      }).catch(() => 'aborted')
      await didInsert
      abort.abort()
      expect(await request).toBe('aborted')
      // The rollback does not wait for the handler: the connection is back while the handler still waits.
      await vi.waitFor(() => expect(pool.idleCount).toBe(pool.totalCount), { timeout: 5_000 })
      release()
      const rows = await admin.query("SELECT 1 FROM request_notes WHERE title = 'abandoned'")
      expect(rows.rowCount).toBe(0)
    } finally {
      release()
      server.closeAllConnections()
      server.close()
    }
  })
})
