import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantDatabase } from '@rowfence/core'
import { buildApp, itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { bearer, buildTestApp, TEST_SECRET, tokenFor } from './support.ts'

const BENCH_PATHS = ['/bench/baseline/items/', '/bench/naive/items/']

let db: TestDatabase
let plain: FastifyInstance
let bench: FastifyInstance
beforeAll(async () => {
  db = await createTestDatabase()
  // What `npm run bench` creates: a copy of items without RLS, readable by the app role.
  const admin = db.pool('admin')
  await admin.query(`CREATE SCHEMA bench AUTHORIZATION ${db.cluster.ownerRole}`)
  await admin.query('CREATE TABLE bench.items_plain (LIKE public.items INCLUDING ALL)')
  await admin.query('INSERT INTO bench.items_plain SELECT * FROM public.items') // superuser: no RLS
  await admin.query(`GRANT USAGE ON SCHEMA bench TO ${db.cluster.appRole}`)
  await admin.query(`GRANT SELECT ON bench.items_plain TO ${db.cluster.appRole}`)
  const pool = db.pool('app', { max: 4 })
  plain = await buildTestApp(pool)
  bench = await buildApp({
    db: createTenantDatabase(pool),
    jwtSecret: TEST_SECRET,
    logger: false,
    benchRoutes: { pool },
  })
  await bench.ready()
})
afterAll(async () => {
  await plain.close()
  await bench.close()
  await db.drop()
})

describe('the bench-only comparison routes', () => {
  it('do not exist unless buildApp() is given benchRoutes', async () => {
    const headers = bearer(await tokenFor(itemsDemo.tenants[0]!.id))
    for (const url of BENCH_PATHS) {
      const response = await plain.inject({ url, headers })
      expect(response.statusCode).toBe(404)
    }
  })

  it('never appear in the OpenAPI document', async () => {
    const document = (await bench.inject({ url: '/openapi.json' })).json()
    expect(Object.keys(document.paths)).toContain('/items/')
    expect(JSON.stringify(document)).not.toContain('/bench/')
  })

  it('answer exactly what GET /items/ answers, for every tenant and page', async () => {
    for (const tenant of itemsDemo.tenants) {
      const headers = bearer(await tokenFor(tenant.id))
      for (const query of ['', '?limit=2', '?limit=2&after=b']) {
        const expected = await bench.inject({ url: `/items/${query}`, headers })
        expect(expected.statusCode).toBe(200)
        expect(expected.json().length).toBeGreaterThan(0)
        for (const path of BENCH_PATHS) {
          const response = await bench.inject({ url: `${path}${query}`, headers })
          expect({ path, status: response.statusCode, body: response.body }).toEqual({
            path,
            status: 200,
            body: expected.body,
          })
        }
      }
    }
  })

  it('authenticate and validate like GET /items/', async () => {
    const headers = bearer(await tokenFor(itemsDemo.tenants[0]!.id))
    for (const url of BENCH_PATHS) {
      expect((await bench.inject({ url })).statusCode).toBe(401)
      expect((await bench.inject({ url: `${url}?limit=0`, headers })).json()).toMatchObject({
        code: 'ROWFENCE_INVALID_INPUT',
      })
    }
  })

  it('leave no tenant context on the pooled connection (naive commits)', async () => {
    const pool = db.pool('app', { max: 1 })
    const single = await buildApp({
      db: createTenantDatabase(pool),
      jwtSecret: TEST_SECRET,
      logger: false,
      benchRoutes: { pool },
    })
    try {
      const headers = bearer(await tokenFor(itemsDemo.tenants[1]!.id))
      const responses = await Promise.all(
        Array.from({ length: 4 }, () => single.inject({ url: '/bench/naive/items/', headers })),
      )
      expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200])
      const { rows } = await pool.query<{ tenant: string | null; open: boolean }>(
        `SELECT NULLIF(current_setting('rowfence.tenant_id', true), '') AS tenant,
                now() <> statement_timestamp() AS open`,
      )
      expect(rows[0]).toEqual({ tenant: null, open: false })
    } finally {
      await single.close()
    }
  })
})
