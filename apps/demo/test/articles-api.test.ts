import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { articlesDemo, DEMO_PASSWORD } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { bearer, buildTestApp, tokenFor } from './support.ts'

const [alpha, bravo] = articlesDemo as [(typeof articlesDemo)[number], (typeof articlesDemo)[number]]
const alpha0 = alpha.users[0]!
const alpha1 = alpha.users[1]!
const bravo0 = bravo.users[0]!

let db: TestDatabase
let app: FastifyInstance
const tokens: Record<string, string> = {}

async function login(tenant: string, user: string, password = DEMO_PASSWORD) {
  return app.inject({ method: 'POST', url: '/api/tokens', payload: { tenant, user, password } })
}

/** Every article of every tenant as the superuser sees it: the "nothing changed" reference. */
async function allArticles(): Promise<unknown[]> {
  const { rows } = await db.pool('admin').query('SELECT * FROM articles ORDER BY tenant_id, id')
  return rows
}

beforeAll(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool('app', { max: 10 }), { authPool: db.pool('auth') })
  for (const [key, tenant, user] of [
    ['alpha0', 'alpha', 'alpha-0'],
    ['alpha1', 'alpha', 'alpha-1'],
    ['bravo0', 'bravo', 'bravo-0'],
  ] as const) {
    const response = await login(tenant, user)
    expect(response.statusCode).toBe(200)
    tokens[key] = response.json().token
  }
})
afterAll(async () => {
  await app.close()
  await db.drop()
})

const as = (key: string) => bearer(tokens[key]!)

describe('POST /api/tokens', () => {
  it('issues a bearer token carrying the tenant and the user', async () => {
    const response = await login('alpha', 'alpha-2')
    expect(response.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3600 })
    const users = await app.inject({ url: '/api/users', headers: bearer(response.json().token) })
    expect(users.json().map((user: { name: string }) => user.name)).toEqual(['alpha-0', 'alpha-1', 'alpha-2'])
  })

  it.each([
    ['a wrong password', 'alpha', 'alpha-0', 'nope'],
    ['an unknown user', 'alpha', 'alpha-9', DEMO_PASSWORD],
    ['an unknown tenant', 'zulu', 'alpha-0', DEMO_PASSWORD],
    ["another tenant's user", 'alpha', 'bravo-0', DEMO_PASSWORD],
  ])('%s -> 401 with one message for all', async (_label, tenant, user, password) => {
    const response = await login(tenant, user, password)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toEqual({
      code: 'ROWFENCE_UNAUTHENTICATED',
      message: 'Wrong tenant, user or password',
    })
  })

  it('invalid bodies -> 400', async () => {
    for (const payload of [
      {},
      { tenant: 'alpha', user: 'alpha-0' },
      { tenant: 'alpha', user: 'alpha-0', password: 1, x: 1 },
    ]) {
      const response = await app.inject({ method: 'POST', url: '/api/tokens', payload })
      expect(response.statusCode).toBe(400)
      expect(response.json().code).toBe('ROWFENCE_INVALID_INPUT')
    }
  })

  it('limits failed logins per user and address: the 6th attempt is refused even with the right password', async () => {
    const attempt = (remoteAddress: string, password: string) =>
      app.inject({
        method: 'POST',
        url: '/api/tokens',
        remoteAddress,
        payload: { tenant: 'charlie', user: 'charlie-1', password },
      })
    for (let i = 0; i < 5; i++) expect((await attempt('10.1.1.1', 'wrong')).statusCode).toBe(401)
    const limited = await attempt('10.1.1.1', DEMO_PASSWORD)
    expect(limited.statusCode).toBe(429)
    expect(limited.json().code).toBe('ROWFENCE_RATE_LIMITED')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // No global lock: the user, from their own address, still gets in.
    expect((await attempt('10.1.1.2', DEMO_PASSWORD)).statusCode).toBe(200)
  })

  it('limits failed logins per client address across users', async () => {
    const from = (remoteAddress: string, user: string, password: string) =>
      app.inject({
        method: 'POST',
        url: '/api/tokens',
        remoteAddress,
        payload: { tenant: 'charlie', user, password },
      })
    for (let i = 0; i < 20; i++) expect((await from('10.9.9.9', `nobody-${i}`, 'x')).statusCode).toBe(401)
    expect((await from('10.9.9.9', 'charlie-2', DEMO_PASSWORD)).statusCode).toBe(429)
    expect((await from('10.9.9.8', 'charlie-2', DEMO_PASSWORD)).statusCode).toBe(200)
  })
})

describe('reads', () => {
  it("lists the tenant's users and articles only", async () => {
    const users = (await app.inject({ url: '/api/users', headers: as('alpha0') })).json()
    expect(users.map((user: { name: string }) => user.name)).toEqual(['alpha-0', 'alpha-1', 'alpha-2'])
    expect(users[0]).toMatchObject({
      article_count: 2,
      page_sum: 20,
      article_titles: ['alpha 0-0', 'alpha 0-1'],
    })
    const articles = (await app.inject({ url: '/api/articles', headers: as('alpha0') })).json()
    expect(articles.map((article: { title: string }) => article.title)).toEqual(
      alpha.users.flatMap((user) => user.articles.map((article) => article.title)).sort(),
    )
  })

  it("a colleague's article is readable; another tenant's is a 404", async () => {
    const colleague = await app.inject({
      url: `/api/articles/${alpha1.articles[0]!.id}`,
      headers: as('alpha0'),
    })
    expect(colleague.statusCode).toBe(200)
    expect(colleague.json()).toMatchObject({ author: 'alpha-1', title: 'alpha 1-0', pages: 10 })
    const foreign = await app.inject({
      url: `/api/articles/${bravo0.articles[0]!.id}`,
      headers: as('alpha0'),
    })
    expect(foreign.statusCode).toBe(404)
    expect(foreign.json().code).toBe('ROWFENCE_NOT_FOUND')
  })
})

describe('the attacker matrix: nothing changes', () => {
  const attacks: Array<
    [
      string,
      string,
      () => Promise<{ method: 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: object }>,
      number,
      string,
    ]
  > = [
    [
      "create an article for another tenant's user",
      'alpha0',
      async () => ({
        method: 'POST',
        url: '/api/articles',
        payload: { title: 'planted', user_id: bravo0.id },
      }),
      403,
      'ROWFENCE_FORBIDDEN',
    ],
    [
      'create an article for a colleague',
      'alpha0',
      async () => ({ method: 'POST', url: '/api/articles', payload: { title: 'ghost', user_id: alpha1.id } }),
      403,
      'ROWFENCE_FORBIDDEN',
    ],
    [
      'create with a tenant_id field',
      'alpha0',
      async () => ({ method: 'POST', url: '/api/articles', payload: { title: 'x', tenant_id: bravo.id } }),
      400,
      'ROWFENCE_INVALID_INPUT',
    ],
    [
      "update another tenant's article",
      'alpha0',
      async () => ({
        method: 'PATCH',
        url: `/api/articles/${bravo0.articles[0]!.id}`,
        payload: { title: 'pwned' },
      }),
      404,
      'ROWFENCE_NOT_FOUND',
    ],
    [
      "delete another tenant's article",
      'alpha0',
      async () => ({ method: 'DELETE', url: `/api/articles/${bravo0.articles[0]!.id}` }),
      404,
      'ROWFENCE_NOT_FOUND',
    ],
    [
      "re-parent an own article to another tenant's user",
      'alpha0',
      async () => ({
        method: 'PATCH',
        url: `/api/articles/${alpha0.articles[0]!.id}`,
        payload: { user_id: bravo0.id },
      }),
      403,
      'ROWFENCE_FORBIDDEN',
    ],
    [
      're-parent an own article to a colleague',
      'alpha0',
      async () => ({
        method: 'PATCH',
        url: `/api/articles/${alpha0.articles[0]!.id}`,
        payload: { user_id: alpha1.id },
      }),
      403,
      'ROWFENCE_FORBIDDEN',
    ],
    [
      "update a colleague's article",
      'alpha0',
      async () => ({
        method: 'PATCH',
        url: `/api/articles/${alpha1.articles[0]!.id}`,
        payload: { title: 'mine now' },
      }),
      403,
      'ROWFENCE_FORBIDDEN',
    ],
    [
      "delete a colleague's article",
      'alpha0',
      async () => ({ method: 'DELETE', url: `/api/articles/${alpha1.articles[0]!.id}` }),
      403,
      'ROWFENCE_FORBIDDEN',
    ],
    [
      "update bravo's article as bravo's own user from alpha's token",
      'alpha1',
      async () => ({
        method: 'PATCH',
        url: `/api/articles/${bravo0.articles[1]!.id}`,
        payload: { pages: 0 },
      }),
      404,
      'ROWFENCE_NOT_FOUND',
    ],
  ]

  it.each(attacks)('%s', async (_label, who, request, status, code) => {
    const before = await allArticles()
    const response = await app.inject({ ...(await request()), headers: as(who) })
    expect({ status: response.statusCode, code: response.json().code }).toEqual({ status, code })
    expect(Object.keys(response.json()).sort()).toEqual(['code', 'message'])
    expect(await allArticles()).toEqual(before)
  })

  it('a token without a user (rowfence token) cannot write: 403, nothing created', async () => {
    const before = await allArticles()
    const response = await app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: bearer(await tokenFor(alpha.id)),
      payload: { title: 'anonymous' },
    })
    expect(response.statusCode).toBe(403)
    expect(await allArticles()).toEqual(before)
  })
})

describe('own articles', () => {
  it('create 201, read, update, delete 204, then 404', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: as('alpha0'),
      payload: { title: 'Mine', body: 'text', pages: 3 },
    })
    expect(created.statusCode).toBe(201)
    const article = created.json()
    expect(article).toMatchObject({
      title: 'Mine',
      body: 'text',
      pages: 3,
      author: 'alpha-0',
      user_id: alpha0.id,
    })
    expect(created.headers['location']).toBe(`/api/articles/${article.id}`)
    const updated = await app.inject({
      method: 'PATCH',
      url: `/api/articles/${article.id}`,
      headers: as('alpha0'),
      payload: { pages: 4 },
    })
    expect(updated.json()).toMatchObject({ title: 'Mine', pages: 4 })
    expect(new Date(updated.json().updated_at).getTime()).toBeGreaterThanOrEqual(
      new Date(article.updated_at).getTime(),
    )
    const colleagueView = await app.inject({ url: `/api/articles/${article.id}`, headers: as('alpha1') })
    expect(colleagueView.json().pages).toBe(4)
    expect(
      (await app.inject({ method: 'DELETE', url: `/api/articles/${article.id}`, headers: as('alpha0') }))
        .statusCode,
    ).toBe(204)
    expect((await app.inject({ url: `/api/articles/${article.id}`, headers: as('alpha0') })).statusCode).toBe(
      404,
    )
  })

  it.each([
    ['POST', '/api/articles', {}],
    ['POST', '/api/articles', { title: '' }],
    ['POST', '/api/articles', { title: 'x'.repeat(201) }],
    ['POST', '/api/articles', { title: 'x', pages: -1 }],
    ['POST', '/api/articles', { title: 'x', pages: 'ten' }],
    ['POST', '/api/articles', { title: 'x', user_id: 'bob' }],
    ['PATCH', `/api/articles/${alpha0.articles[0]!.id}`, {}],
    ['PATCH', '/api/articles/not-a-uuid', { title: 'x' }],
  ] as const)('%s %s %j -> 400', async (method, url, payload) => {
    const response = await app.inject({ method, url, headers: as('alpha0'), payload })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('ROWFENCE_INVALID_INPUT')
  })

  it('a body that is not JSON -> 400', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: { ...as('alpha0'), 'content-type': 'application/json' },
      payload: '{"title":',
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      code: 'ROWFENCE_INVALID_INPUT',
      message: 'The request body is not valid JSON',
    })
  })
})

describe('GET /api/storage', () => {
  it("reports the tenant's own rows and bytes per table, and the total", async () => {
    const report = (await app.inject({ url: '/api/storage', headers: as('bravo0') })).json()
    expect(report.tables.map((row: { table: string }) => row.table)).toEqual(['articles', 'users'])
    expect(report.tables.find((row: { table: string }) => row.table === 'users').rows).toBe(3)
    expect(report.total.rows).toBe(
      report.tables.reduce((sum: number, row: { rows: number }) => sum + row.rows, 0),
    )
    expect(report.total.bytes).toBeGreaterThan(0)
  })
})

describe('OpenAPI', () => {
  it('lists every articles-app route with its error responses, and no page route', async () => {
    const spec = (await app.inject({ url: '/openapi.json' })).json()
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/users',
        '/api/articles',
        '/api/articles/{id}',
        '/api/storage',
        '/api/tokens',
      ]),
    )
    expect(Object.keys(spec.paths['/api/articles/{id}'])).toEqual(
      expect.arrayContaining(['get', 'patch', 'delete']),
    )
    expect(spec.paths['/api/articles/{id}'].patch.responses).toHaveProperty('403')
    expect(
      Object.keys(spec.paths).filter(
        (path) => !path.startsWith('/api/') && !['/items/', '/tenants/'].includes(path),
      ),
    ).toEqual([])
  })
})
