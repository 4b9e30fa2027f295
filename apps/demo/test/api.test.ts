import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { SignJWT, UnsecuredJWT } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { bearer, buildTestApp, LogCapture, TEST_SECRET, tokenFor } from './support.ts'

const byTitle = (a: { title: string }, b: { title: string }) =>
  a.title < b.title ? -1 : a.title > b.title ? 1 : 0
const expectedItems = (tenantId: string) =>
  itemsDemo.items
    .filter((item) => item.tenant_id === tenantId)
    .sort(byTitle)
    .map(({ id, title, tenant_id }) => ({ id, title, tenant_id }))

let db: TestDatabase
let app: FastifyInstance
let logs: LogCapture
beforeAll(async () => {
  db = await createTestDatabase()
  logs = new LogCapture()
  app = await buildTestApp(db.pool('app', { max: 10 }), { logs })
})
afterAll(async () => {
  await app.close()
  await db.drop()
})

describe('parity with the FastAPI RLS demo', () => {
  it('pawnee-parks-and-rec gets exactly its five items, by title, with the fixture ids', async () => {
    const pawnee = itemsDemo.tenants.find((tenant) => tenant.name === 'pawnee-parks-and-rec')!
    const response = await app.inject({ url: '/items/', headers: bearer(await tokenFor(pawnee.id)) })
    expect(response.statusCode).toBe(200)
    expect(response.json().map((item: { title: string }) => item.title)).toEqual([
      'art-fair',
      'bench',
      'concert',
      'drinking-fountain',
      'emergency-kit',
    ])
    expect(response.json()).toEqual(expectedItems(pawnee.id))
  })

  for (const tenant of itemsDemo.tenants) {
    for (const path of ['/items/', '/items']) {
      it(`GET ${path} for ${tenant.name}`, async () => {
        const response = await app.inject({ url: path, headers: bearer(await tokenFor(tenant.id)) })
        expect(response.statusCode).toBe(200)
        expect(response.headers['content-type']).toMatch(/^application\/json/)
        expect(response.json()).toEqual(expectedItems(tenant.id))
      })
    }
    for (const path of ['/tenants/', '/tenants']) {
      it(`GET ${path} for ${tenant.name}`, async () => {
        const response = await app.inject({ url: path, headers: bearer(await tokenFor(tenant.id)) })
        expect(response.statusCode).toBe(200)
        expect(response.json()).toEqual([
          { id: tenant.id, name: tenant.name, items: expectedItems(tenant.id) },
        ])
      })
    }
  }

  it('a valid token for a tenant with no rows gets 200 []', async () => {
    const headers = bearer(await tokenFor(randomUUID()))
    for (const url of ['/items/', '/tenants/']) {
      const response = await app.inject({ url, headers })
      expect({ url, status: response.statusCode, body: response.json() }).toEqual({
        url,
        status: 200,
        body: [],
      })
    }
  })
})

describe('pagination', () => {
  it('pages with limit and the keyset cursor `after`', async () => {
    const tenant = itemsDemo.tenants[0]!
    const headers = bearer(await tokenFor(tenant.id))
    const all = expectedItems(tenant.id)
    const first = (await app.inject({ url: '/items/?limit=2', headers })).json()
    const second = (
      await app.inject({ url: `/items/?limit=2&after=${encodeURIComponent(first[1].title)}`, headers })
    ).json()
    expect([...first, ...second]).toEqual(all.slice(0, 4))
  })

  it.each(['limit=0', 'limit=1001', 'limit=abc', 'unknown=1'])(
    'rejects ?%s with 400 ROWFENCE_INVALID_INPUT',
    async (query) => {
      const response = await app.inject({
        url: `/items/?${query}`,
        headers: bearer(await tokenFor(itemsDemo.tenants[0]!.id)),
      })
      expect(response.statusCode).toBe(400)
      expect(response.json()).toMatchObject({ code: 'ROWFENCE_INVALID_INPUT' })
    },
  )
})

describe('authentication', () => {
  const key = new TextEncoder().encode(TEST_SECRET)
  const tenantId = itemsDemo.tenants[0]!.id
  const cases: Array<[string, () => Promise<Record<string, string>>]> = [
    ['no Authorization header', async () => ({})],
    [
      'a non-Bearer scheme',
      async () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
    ],
    ['garbage', async () => bearer('not.a.jwt')],
    ['an empty bearer', async () => ({ authorization: 'Bearer ' })],
    ['an expired token', async () => bearer(await tokenFor(tenantId, { expiresIn: '-1m' }))],
    ['another secret', async () => bearer(await tokenFor(tenantId, { secret: 'x'.repeat(40) }))],
    [
      'alg none',
      async () =>
        bearer(
          new UnsecuredJWT({ tenant_id: tenantId })
            .setSubject('x')
            .setIssuer('rowfence')
            .setAudience('rowfence-api')
            .setExpirationTime('5m')
            .encode(),
        ),
    ],
    [
      'HS512 with the right secret (algorithm is pinned)',
      async () =>
        bearer(
          await new SignJWT({ tenant_id: tenantId })
            .setProtectedHeader({ alg: 'HS512' })
            .setSubject('x')
            .setIssuer('rowfence')
            .setAudience('rowfence-api')
            .setExpirationTime('5m')
            .sign(key),
        ),
    ],
    [
      'a wrong audience',
      async () =>
        bearer(
          await new SignJWT({ tenant_id: tenantId })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject('x')
            .setIssuer('rowfence')
            .setAudience('someone-else')
            .setExpirationTime('5m')
            .sign(key),
        ),
    ],
    [
      'a tenant id that is not a UUID',
      async () =>
        bearer(
          await new SignJWT({ tenant_id: "' OR 1=1 --" })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject('x')
            .setIssuer('rowfence')
            .setAudience('rowfence-api')
            .setExpirationTime('5m')
            .sign(key),
        ),
    ],
  ]
  it.each(cases)('%s -> 401 ROWFENCE_UNAUTHENTICATED', async (_label, headers) => {
    for (const url of ['/items/', '/tenants/']) {
      const response = await app.inject({ url, headers: await headers() })
      expect(response.statusCode).toBe(401)
      expect(Object.keys(response.json()).sort()).toEqual(['code', 'message'])
      expect(response.json().code).toBe('ROWFENCE_UNAUTHENTICATED')
    }
  })

  it('ignores X-Tenant-Id unless demo mode is on', async () => {
    const response = await app.inject({ url: '/items/', headers: { 'x-tenant-id': tenantId } })
    expect(response.statusCode).toBe(401)
  })
})

describe('insecure demo mode (ROWFENCE_TRUST_TENANT_HEADER=1)', () => {
  let demo: FastifyInstance
  beforeAll(async () => {
    demo = await buildTestApp(db.pool('app'), { trustTenantHeader: true })
  })
  afterAll(async () => demo.close())

  it('accepts the classic curl header verbatim', async () => {
    const tenant = itemsDemo.tenants[0]!
    const response = await demo.inject({ url: '/items/', headers: { 'X-tenant-id': tenant.id } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual(expectedItems(tenant.id))
  })

  it.each([
    '',
    '   ',
    'abc',
    "7a245486-3fc8-47ec-b303-04fefe7a58ff' OR '1'='1",
    '7a245486-3fc8-47ec-b303-04fefe7a58ff; DROP TABLE items; --',
    '7a245486-3fc8-47ec-b303-04fefe7a58ff,162be16f-f76d-431a-a213-171838ded9ae',
    '%',
    '00000000-0000-0000-0000-00000000000g',
  ])('malformed X-Tenant-Id %j -> 400 ROWFENCE_INVALID_TENANT', async (value) => {
    const response = await demo.inject({ url: '/items/', headers: { 'x-tenant-id': value } })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({ code: 'ROWFENCE_INVALID_TENANT', message: expect.any(String) })
  })

  it('a repeated X-Tenant-Id header -> 400', async () => {
    const response = await demo.inject({
      url: '/items/',
      headers: { 'x-tenant-id': [itemsDemo.tenants[0]!.id, itemsDemo.tenants[1]!.id] },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('ROWFENCE_INVALID_TENANT')
  })
})

describe('routing and error bodies', () => {
  it('unknown route -> 404 JSON', async () => {
    const response = await app.inject({ url: '/nope' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ code: 'ROWFENCE_NOT_FOUND', message: expect.any(String) })
  })

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'] as const)(
    '%s /items/ -> 405 JSON with Allow',
    async (method) => {
      const response = await app.inject({ method, url: '/items/' })
      expect(response.statusCode).toBe(405)
      expect(response.headers['allow']).toMatch(/GET/)
      expect(response.json()).toEqual({ code: 'ROWFENCE_METHOD_NOT_ALLOWED', message: expect.any(String) })
    },
  )

  it('serves the OpenAPI document and the docs page', async () => {
    const spec = (await app.inject({ url: '/openapi.json' })).json()
    expect(spec.openapi).toBe('3.1.0')
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/items/', '/tenants/']))
    expect(spec.paths['/items/'].get.responses).toHaveProperty('401')
    const docs = await app.inject({ url: '/docs' })
    expect(docs.statusCode).toBe(200)
    expect(docs.headers['content-type']).toMatch(/text\/html/)
  })

  it('a database failure is a generic 500: no SQL, no relation name, no stack', async () => {
    // The app role connected to a database without the tables: every query fails inside PostgreSQL.
    const wrongDb = new pg.Pool({ connectionString: db.appUrl.replace(`/${db.name}`, '/postgres'), max: 1 })
    const broken = await buildTestApp(wrongDb)
    try {
      const response = await broken.inject({
        url: '/items/',
        headers: bearer(await tokenFor(itemsDemo.tenants[0]!.id)),
      })
      expect(response.statusCode).toBe(500)
      expect(response.json()).toEqual({ code: 'ROWFENCE_INTERNAL', message: 'Internal server error' })
      expect(response.body).not.toMatch(/items|relation|SELECT|at .*\.ts/)
    } finally {
      await broken.close()
      await wrongDb.end()
    }
  })

  it('an unreachable database is 503 ROWFENCE_DATABASE_UNAVAILABLE', async () => {
    const nowhere = new pg.Pool({
      host: '127.0.0.1',
      port: 1,
      user: 'x',
      database: 'x',
      connectionTimeoutMillis: 2000,
    })
    const broken = await buildTestApp(nowhere)
    try {
      const response = await broken.inject({
        url: '/items/',
        headers: bearer(await tokenFor(itemsDemo.tenants[0]!.id)),
      })
      expect(response.statusCode).toBe(503)
      expect(response.json()).toEqual({ code: 'ROWFENCE_DATABASE_UNAVAILABLE', message: expect.any(String) })
    } finally {
      await broken.close()
      await nowhere.end()
    }
  })
})

describe('request logs', () => {
  it('carry the request id and tenant id, never the token', async () => {
    const tenant = itemsDemo.tenants[1]!
    const token = await tokenFor(tenant.id)
    await app.inject({ url: '/items/', headers: bearer(token) })
    const line = logs.lines.map((entry) => JSON.parse(entry)).find((entry) => entry.tenantId === tenant.id)
    expect(line).toMatchObject({
      msg: 'request completed',
      reqId: expect.any(String),
      path: '/items/',
      statusCode: 200,
    })
    expect(logs.text).not.toContain(token)
    expect(logs.text).not.toContain(token.split('.')[2])
  })
})

describe('concurrency', () => {
  it('500 HTTP requests in flight over the 3 tenants: all 200, each only its own rows', async () => {
    const server = await buildTestApp(db.pool('app', { max: 10 }))
    try {
      const base = await server.listen({ host: '127.0.0.1', port: 0 })
      const tokens = await Promise.all(itemsDemo.tenants.map((tenant) => tokenFor(tenant.id)))
      const responses = await Promise.all(
        Array.from({ length: 500 }, async (_, i) => {
          const index = i % tokens.length
          const path = i % 2 === 0 ? '/items/' : '/tenants/'
          const response = await fetch(base + path, { headers: bearer(tokens[index]!) })
          return {
            index,
            path,
            status: response.status,
            body: (await response.json()) as Array<{ items?: unknown }>,
          }
        }),
      )
      expect(responses.filter((response) => response.status !== 200)).toEqual([])
      for (const { index, path, body } of responses) {
        const items = path === '/items/' ? body : body[0]?.items
        expect(items).toEqual(expectedItems(itemsDemo.tenants[index]!.id))
      }
    } finally {
      await server.close()
    }
  })
})
