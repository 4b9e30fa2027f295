import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantDatabase } from '@rowfence/core'
import { articlesDemo, DEMO_OPERATOR, DEMO_PASSWORD } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { parseTrustProxy } from '../src/launcher/settings.ts'
import { InjectSession } from './browser-session.ts'
import { bearer, buildTestApp } from './support.ts'

/**
 * Issue 16: each attack is performed first, then the fixed behaviour asserted. Limits and revocations
 * must hold across server processes, so most tests run against two app instances on one database.
 */
const [alpha, , charlie] = articlesDemo as unknown as [
  (typeof articlesDemo)[number],
  (typeof articlesDemo)[number],
  (typeof articlesDemo)[number],
]

let db: TestDatabase
let appA: FastifyInstance
let appB: FastifyInstance

beforeAll(async () => {
  db = await createTestDatabase()
  const pools = { authPool: db.pool('auth', { max: 10 }), adminPool: db.pool('operator') }
  appA = await buildTestApp(db.pool('app', { max: 10 }), pools)
  appB = await buildTestApp(db.pool('app', { max: 10 }), pools)
})
afterAll(async () => {
  await appA.close()
  await appB.close()
  await db.drop()
})

function apiLogin(
  app: FastifyInstance,
  remoteAddress: string,
  payload: { tenant: string; user: string; password: string },
) {
  return app.inject({ method: 'POST', url: '/api/tokens', remoteAddress, payload })
}

async function tokenOf(tenant: string, user: string, remoteAddress = '127.0.0.1'): Promise<string> {
  const response = await apiLogin(appA, remoteAddress, { tenant, user, password: DEMO_PASSWORD })
  expect(response.statusCode).toBe(200)
  return response.json().token
}

async function operatorSession(app: FastifyInstance, remoteAddress = '127.0.0.1'): Promise<InjectSession> {
  const session = new InjectSession(app, remoteAddress)
  const form = await session.get('/admin/login')
  const response = await session.post('/admin/login', {
    _csrf: InjectSession.csrfOf(form),
    name: DEMO_OPERATOR.name,
    password: DEMO_OPERATOR.password,
  })
  expect(response.statusCode).toBe(303)
  return session
}

describe('1. a burst of parallel logins', () => {
  it('40 concurrent wrong passwords over two servers, then the right one: never a 200 past the limit', async () => {
    const address = '10.16.1.1'
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        apiLogin(i % 2 ? appA : appB, address, {
          tenant: 'charlie',
          user: 'charlie-0',
          password: `wrong-${i}`,
        }),
      ),
    )
    const statuses = burst.map((response) => response.statusCode)
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5)
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([])
    const right = await apiLogin(appB, address, {
      tenant: 'charlie',
      user: 'charlie-0',
      password: DEMO_PASSWORD,
    })
    expect(right.statusCode).toBe(429)
    expect(right.json().code).toBe('ROWFENCE_RATE_LIMITED')
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0)
  })
})

describe('2. lockout of someone else', () => {
  it('failures from other addresses do not lock a user out of their own address', async () => {
    for (let i = 0; i < 6; i++) {
      const response = await apiLogin(i % 2 ? appA : appB, '10.16.2.1', {
        tenant: 'bravo',
        user: 'bravo-1',
        password: 'guess',
      })
      expect(response.statusCode).toBe(i < 5 ? 401 : 429)
    }
    const victim = await apiLogin(appA, '10.16.2.200', {
      tenant: 'bravo',
      user: 'bravo-1',
      password: DEMO_PASSWORD,
    })
    expect(victim.statusCode).toBe(200)
  })

  it('tenant logins named "(operators)" never reach the operators\' key space', async () => {
    const address = '10.16.2.50'
    for (let i = 0; i < 6; i++) {
      const response = await apiLogin(appA, address, { tenant: '(operators)', user: 'admin', password: 'x' })
      expect([401, 429]).toContain(response.statusCode)
    }
    // Same address even: the operator's own key is untouched.
    await operatorSession(appB, address)
  })
})

describe('3. NUL bytes', () => {
  it('every input with a NUL is a 400 with a code, and never counts as a login attempt', async () => {
    const token = await tokenOf('alpha', 'alpha-0')
    const json = (response: { statusCode: number; json: () => { code: string } }) => {
      expect(response.statusCode).toBe(400)
      expect(response.json().code).toBe('ROWFENCE_INVALID_INPUT')
    }
    json(
      await appA.inject({
        method: 'POST',
        url: '/api/articles',
        headers: bearer(token),
        payload: { title: 'a\u0000b' },
      }),
    )
    json(
      await appA.inject({
        method: 'PATCH',
        url: `/api/articles/${alpha.users[0]!.id}`,
        headers: bearer(token),
        payload: { body: 'x\u0000' },
      }),
    )
    json(await appA.inject({ url: '/items/?after=%00', headers: bearer(token) }))
    json(await appA.inject({ url: '/api/articles/%00', headers: bearer(token) }))
    for (const payload of [
      { tenant: 'alpha\u0000', user: 'alpha-0', password: DEMO_PASSWORD },
      { tenant: 'alpha', user: 'alpha-0\u0000', password: DEMO_PASSWORD },
      { tenant: 'alpha', user: 'alpha-0', password: 'a\u0000' },
    ]) {
      json(await apiLogin(appA, '10.16.3.1', payload))
    }
    // The forms: a 400 page carrying the code.
    const session = new InjectSession(appA, '10.16.3.2')
    const page = await session.get('/login')
    const form = await session.post('/login', {
      _csrf: InjectSession.csrfOf(page),
      tenant: 'alpha',
      user: 'alpha\u00000',
      password: DEMO_PASSWORD,
    })
    expect(form.statusCode).toBe(400)
    expect(form.body).toContain('data-code="ROWFENCE_INVALID_INPUT"')
    await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    const home = await session.get('/')
    const created = await session.post('/articles', {
      _csrf: InjectSession.csrfOf(home),
      title: 'nul\u0000title',
    })
    expect(created.statusCode).toBe(400)
    expect(created.body).toContain('data-code="ROWFENCE_INVALID_INPUT"')
  })
})

describe('4. totals past 2^31 and a per-user quota', () => {
  it('21,500 articles of 100,000 pages (a direct insert under the tenant context) do not break the pages', async () => {
    const user = charlie.users[2]!
    const tenantDb = createTenantDatabase(db.pool('app'))
    await tenantDb.withTenant({ tenantId: charlie.id, userId: user.id }, (tx) =>
      tx.query(
        `INSERT INTO articles (tenant_id, user_id, title, pages)
         SELECT $1, $2, 'bulk ' || n, 100000 FROM generate_series(1, 21500) n`,
        [charlie.id, user.id],
      ),
    )
    const token = await tokenOf('charlie', user.name)
    const users = await appA.inject({ url: '/api/users', headers: bearer(token) })
    expect(users.statusCode).toBe(200)
    const summary = users.json().find((entry: { name: string }) => entry.name === user.name)
    const { rows } = await db
      .pool('admin')
      .query('SELECT sum(pages)::bigint AS pages FROM articles WHERE user_id = $1', [user.id])
    expect(summary.page_sum).toBe(Number(rows[0].pages))
    expect(summary.page_sum).toBeGreaterThan(2 ** 31 - 1)

    const session = new InjectSession(appB, '10.16.4.1')
    await session.login('charlie', 'charlie-0', DEMO_PASSWORD)
    expect((await session.get('/')).statusCode).toBe(200)

    // The quota: this user owns far more than 1,000 articles, so creating one more is refused.
    const refused = await appA.inject({
      method: 'POST',
      url: '/api/articles',
      headers: bearer(token),
      payload: { title: 'one too many' },
    })
    expect(refused.statusCode).toBe(409)
    expect(refused.json().code).toBe('ROWFENCE_QUOTA_EXCEEDED')
  })
})

describe('5. logout and revocation', () => {
  it('a session cookie saved before logout is dead on every server, for pages and form posts', async () => {
    const session = new InjectSession(appA, '10.16.5.1')
    await session.login('alpha', 'alpha-1', DEMO_PASSWORD)
    const home = await session.get('/')
    expect(home.statusCode).toBe(200)
    const saved = session.cookieHeader
    const csrf = InjectSession.csrfOf(home)
    await session.post('/logout', { _csrf: csrf })

    const replay = new InjectSession(appB, '10.16.5.1')
    for (const part of saved.split('; ')) {
      const [name, ...value] = part.split('=')
      replay.cookies.set(name!, value.join('='))
    }
    expect((await replay.get('/')).headers.location).toBe('/login')
    const before = await db.pool('admin').query('SELECT count(*)::int AS n FROM articles')
    const forged = await replay.post('/articles', { _csrf: csrf, title: 'after logout' })
    expect(forged.statusCode).toBe(303)
    expect(forged.headers.location).toBe('/login')
    const after = await db.pool('admin').query('SELECT count(*)::int AS n FROM articles')
    expect(after.rows[0].n).toBe(before.rows[0].n)
  })

  it("an operator's cookie saved before logout no longer opens /admin", async () => {
    const session = await operatorSession(appA, '10.16.5.2')
    const page = await session.get('/admin')
    expect(page.statusCode).toBe(200)
    const saved = session.cookies.get('rowfence_operator')!
    await session.post('/admin/logout', { _csrf: InjectSession.csrfOf(page) })
    const replay = await appB.inject({ url: '/admin', headers: { cookie: `rowfence_operator=${saved}` } })
    expect(replay.statusCode).toBe(303)
    expect(replay.headers.location).toBe('/admin/login')
  })

  it('DELETE /api/tokens/current revokes an API token on every server', async () => {
    const token = await tokenOf('bravo', 'bravo-0')
    expect((await appB.inject({ url: '/api/articles', headers: bearer(token) })).statusCode).toBe(200)
    const revoked = await appA.inject({
      method: 'DELETE',
      url: '/api/tokens/current',
      headers: bearer(token),
    })
    expect(revoked.statusCode).toBe(204)
    const replay = await appB.inject({ url: '/api/articles', headers: bearer(token) })
    expect(replay.statusCode).toBe(401)
    expect(replay.json()).toEqual({ code: 'ROWFENCE_UNAUTHENTICATED', message: 'The token has been revoked' })
    const { rows } = await db
      .pool('admin')
      .query('SELECT expires_at > now() AS live FROM rowfence.revoked_tokens')
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((row) => row.live)).toBe(true)
  })
})

describe('6. storage accounting', () => {
  it('returns exactly to its previous value after compressible create, update and delete cycles', async () => {
    const token = await tokenOf('bravo', 'bravo-2')
    const total = async () =>
      (await appA.inject({ url: '/api/storage', headers: bearer(token) })).json().total as {
        rows: number
        bytes: number
      }
    const before = await total()
    for (let cycle = 0; cycle < 3; cycle++) {
      const created = await appA.inject({
        method: 'POST',
        url: '/api/articles',
        headers: bearer(token),
        payload: { title: `big ${cycle}`, body: 'a'.repeat(20_000) },
      })
      expect(created.statusCode).toBe(201)
      const id = created.json().id
      const updated = await appB.inject({
        method: 'PATCH',
        url: `/api/articles/${id}`,
        headers: bearer(token),
        payload: { body: 'b'.repeat(19_000) },
      })
      expect(updated.statusCode).toBe(200)
      expect(
        (await appA.inject({ method: 'DELETE', url: `/api/articles/${id}`, headers: bearer(token) }))
          .statusCode,
      ).toBe(204)
    }
    expect(await total()).toEqual(before)
  })
})

describe('8. forwarded addresses', () => {
  it('TRUST_PROXY accepts hop counts and addresses, and refuses "every hop"', () => {
    expect(parseTrustProxy(undefined)).toBe(false)
    expect(parseTrustProxy('1')).toBe(1)
    expect(parseTrustProxy('10.0.0.1, 10.1.0.0/16')).toEqual(['10.0.0.1', '10.1.0.0/16'])
    expect(() => parseTrustProxy('true')).toThrow(/hop count/)
  })

  async function exhaust(app: FastifyInstance, remoteAddress: string, forwardedFor: (i: number) => string) {
    const statuses: number[] = []
    for (let i = 0; i < 21; i++) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/tokens',
        remoteAddress,
        headers: { 'x-forwarded-for': forwardedFor(i) },
        payload: { tenant: 'charlie', user: `nobody-${i}`, password: 'x' },
      })
      statuses.push(response.statusCode)
    }
    return statuses
  }

  it('without a trusted proxy, a spoofed X-Forwarded-For changes nothing', async () => {
    const statuses = await exhaust(appA, '10.16.8.1', (i) => `198.51.100.${i}`)
    expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true)
    expect(statuses[20]).toBe(429)
  })

  it('trusted by hop count: only the address the proxy appended counts', async () => {
    const behindProxy = await buildTestApp(db.pool('app'), { authPool: db.pool('auth'), trustProxy: 1 })
    try {
      const statuses = await exhaust(behindProxy, '10.0.0.1', (i) => `198.51.100.${i}, 203.0.113.8`)
      expect(statuses[20]).toBe(429)
      // Another real client behind the same proxy is not affected.
      const fresh = await behindProxy.inject({
        method: 'POST',
        url: '/api/tokens',
        remoteAddress: '10.0.0.1',
        headers: { 'x-forwarded-for': '203.0.113.9' },
        payload: { tenant: 'charlie', user: 'charlie-1', password: DEMO_PASSWORD },
      })
      expect(fresh.statusCode).toBe(200)
    } finally {
      await behindProxy.close()
    }
  })

  it('trusted by address: a header from any other peer is ignored', async () => {
    const behindProxy = await buildTestApp(db.pool('app'), {
      authPool: db.pool('auth'),
      trustProxy: '10.0.0.2',
    })
    try {
      const statuses = await exhaust(behindProxy, '10.16.8.3', (i) => `198.51.100.${i}`)
      expect(statuses[20]).toBe(429)
      const viaProxy = await behindProxy.inject({
        method: 'POST',
        url: '/api/tokens',
        remoteAddress: '10.0.0.2',
        headers: { 'x-forwarded-for': '10.16.8.3' },
        payload: { tenant: 'charlie', user: 'charlie-1', password: DEMO_PASSWORD },
      })
      expect(viaProxy.statusCode).toBe(429)
    } finally {
      await behindProxy.close()
    }
  })
})

describe('9. audit rows', () => {
  it('an encoded admin path is audited with its route pattern and normalised path', async () => {
    const session = await operatorSession(appA, '10.16.9.1')
    const page = await session.get('/%61dmin')
    expect(page.statusCode).toBe(200)
    const { rows } = await db
      .pool('admin')
      .query('SELECT method, route, path FROM admin_audit ORDER BY id DESC LIMIT 1')
    expect(rows[0]).toEqual({ method: 'GET', route: '/admin', path: '/admin' })
  })
})

/** One raw HTTP exchange with a listening server: what the framework answers before any route runs. */
function rawRequest(
  port: number,
  request: string,
): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.on('data', (chunk) => (data += chunk.toString('latin1')))
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n')
      resolve({
        status: Number(head.split(' ')[1]),
        headers: head.toLowerCase(),
        body: rest.join('\r\n\r\n'),
      })
    })
    // write, not end: a half-closed client may see its pending response dropped.
    socket.write(request)
  })
}

describe('10. framework errors and security headers', () => {
  let port: number
  beforeAll(async () => {
    await appA.listen({ host: '127.0.0.1', port: 0 })
    const address = appA.server.address()
    port = typeof address === 'object' && address ? address.port : 0
  })

  const cases: [string, string, number][] = [
    [
      'a URL that cannot be decoded',
      'GET /%c0<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      400,
    ],
    ['an unknown method', 'PROPFIND /api/articles HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 405],
    ['a bad Content-Length', 'POST /api/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}', 400],
    ['headers too large (431)', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    [
      'a file the docs do not serve',
      'GET /docs/static/package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      404,
    ],
  ]

  it.each(cases)('%s -> { code, message } with nosniff', async (_label, request, status) => {
    const response = await rawRequest(port, request)
    expect(response.status).toBe(status)
    expect(response.headers).toContain('x-content-type-options: nosniff')
    expect(response.headers).toMatch(/content-type: application\/json/)
    const body = JSON.parse(response.body)
    expect(Object.keys(body).sort()).toEqual(['code', 'message'])
    expect(body.code).toMatch(/^ROWFENCE_/)
    expect(response.body).not.toContain('<script>')
  })

  it('"title": true is a 400, not the string "true"', async () => {
    const token = await tokenOf('alpha', 'alpha-2')
    for (const payload of [{ title: true }, { title: 5 }, { title: 'ok', pages: '5' }]) {
      const response = await appA.inject({
        method: 'POST',
        url: '/api/articles',
        headers: bearer(token),
        payload,
      })
      expect(response.statusCode).toBe(400)
      expect(response.json().code).toBe('ROWFENCE_INVALID_INPUT')
    }
  })

  it('security headers on every response: API, pages, docs, errors', async () => {
    const token = await tokenOf('alpha', 'alpha-2')
    for (const response of [
      await appA.inject({ url: '/api/articles', headers: bearer(token) }),
      await appA.inject({ url: '/api/articles' }),
      await appA.inject({ url: '/login' }),
      await appA.inject({ url: '/nowhere' }),
      await appA.inject({ url: '/docs' }),
      await appA.inject({ url: '/openapi.json' }),
    ]) {
      expect(response.headers['x-content-type-options']).toBe('nosniff')
      expect(response.headers['referrer-policy']).toBeTruthy()
      expect(response.headers['x-frame-options']).toBe('DENY')
      expect(response.headers['content-security-policy']).toMatch(/frame-ancestors '(none|self)'/)
    }
    const page = await appA.inject({ url: '/login' })
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; style-src 'self'/)
  })
})

describe('two processes share the state', () => {
  it('a limit reached through one server holds on the other', async () => {
    for (let i = 0; i < 5; i++) {
      await apiLogin(appA, '10.16.11.1', { tenant: 'alpha', user: 'alpha-2', password: 'x' })
    }
    const other = await apiLogin(appB, '10.16.11.1', {
      tenant: 'alpha',
      user: 'alpha-2',
      password: DEMO_PASSWORD,
    })
    expect(other.statusCode).toBe(429)
  })
})
