import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { articlesDemo, DEMO_OPERATOR, DEMO_PASSWORD } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { InjectSession } from './browser-session.ts'
import { buildTestApp } from './support.ts'

const [alpha, bravo] = articlesDemo as [(typeof articlesDemo)[number], (typeof articlesDemo)[number]]

let db: TestDatabase
let app: FastifyInstance
beforeAll(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool('app'), { authPool: db.pool('auth'), adminPool: db.pool('operator') })
})
afterAll(async () => {
  await app.close()
  await db.drop()
})

async function articleRows(): Promise<unknown[]> {
  return (await db.pool('admin').query('SELECT * FROM articles ORDER BY tenant_id, id')).rows
}

describe('login and sessions', () => {
  it('redirects an anonymous visitor to the login page', async () => {
    const response = await new InjectSession(app).get('/')
    expect(response.statusCode).toBe(303)
    expect(response.headers.location).toBe('/login')
  })

  it('sets an HttpOnly, SameSite=Lax session cookie and shows the tenant', async () => {
    const session = new InjectSession(app)
    const response = await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    expect(response.statusCode).toBe(303)
    const cookie = response.cookies.find((candidate) => candidate.name === 'rowfence_session')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
    expect(cookie?.secure).toBeFalsy()
    const home = await session.get('/')
    expect(home.statusCode).toBe(200)
    expect(home.headers['content-security-policy']).toMatch(/default-src 'none'/)
    expect(home.body).toContain('data-testid="tenant-name">alpha<')
    expect(home.body).toContain(`tenant ${alpha.id}`)
    expect(home.body).toContain(`user ${alpha.users[0]!.id}`)
    expect(home.body).not.toContain('bravo')
  })

  it('marks the session cookie Secure behind an HTTPS proxy (trustProxy)', async () => {
    const secureApp = await buildTestApp(db.pool('app'), { authPool: db.pool('auth'), trustProxy: 1 })
    try {
      const session = new InjectSession(secureApp)
      const form = await session.get('/login')
      const response = await secureApp.inject({
        method: 'POST',
        url: '/login',
        headers: {
          cookie: session.cookieHeader,
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-proto': 'https',
        },
        payload: new URLSearchParams({
          _csrf: InjectSession.csrfOf(form),
          tenant: 'alpha',
          user: 'alpha-1',
          password: DEMO_PASSWORD,
        }).toString(),
      })
      expect(response.statusCode).toBe(303)
      expect(response.cookies.find((cookie) => cookie.name === 'rowfence_session')).toMatchObject({
        secure: true,
        httpOnly: true,
      })
    } finally {
      await secureApp.close()
    }
  })

  it('a wrong password re-renders the form with an error (401), no cookie', async () => {
    const session = new InjectSession(app)
    const response = await session.login('alpha', 'alpha-0', 'wrong')
    expect(response.statusCode).toBe(401)
    expect(response.body).toContain('Wrong tenant, user or password')
    expect(session.cookies.has('rowfence_session')).toBe(false)
  })

  it('a form post without the CSRF token is refused (403) and logs nobody in', async () => {
    const session = new InjectSession(app)
    await session.get('/login')
    const response = await session.post('/login', {
      tenant: 'alpha',
      user: 'alpha-0',
      password: DEMO_PASSWORD,
    })
    expect(response.statusCode).toBe(403)
    expect(response.body).toContain('data-code="ROWFENCE_INVALID_CSRF_TOKEN"')
    expect(session.cookies.has('rowfence_session')).toBe(false)
  })

  it('logout clears the session', async () => {
    const session = new InjectSession(app)
    await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    const home = await session.get('/')
    await session.post('/logout', { _csrf: InjectSession.csrfOf(home) })
    expect((await session.get('/')).statusCode).toBe(303)
  })

  it('an API token is not a session, and a session cookie is not an API token', async () => {
    const session = new InjectSession(app)
    await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    const cookie = session.cookies.get('rowfence_session')!
    const api = await app.inject({ url: '/api/articles', headers: { authorization: `Bearer ${cookie}` } })
    expect(api.statusCode).toBe(401)
  })
})

describe('own articles through forms', () => {
  it('creates, edits and deletes an own article; markup in a title is escaped', async () => {
    const session = new InjectSession(app)
    await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    let home = await session.get('/')
    const title = '<script>alert("x")</script> & co'
    const created = await session.post('/articles', {
      _csrf: InjectSession.csrfOf(home),
      title,
      body: 'b',
      pages: '4',
    })
    expect(created.statusCode).toBe(303)
    home = await session.get('/')
    expect(home.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co')
    expect(home.body).not.toContain('<script>')
    const { rows } = await db.pool('admin').query('SELECT id FROM articles WHERE title = $1', [title])
    const id = rows[0].id
    const edit = await session.get(`/articles/${id}/edit`)
    expect(edit.statusCode).toBe(200)
    await session.post(`/articles/${id}`, {
      _csrf: InjectSession.csrfOf(edit),
      title: 'renamed',
      body: 'b2',
      pages: '5',
    })
    expect(
      (await db.pool('admin').query('SELECT title, pages FROM articles WHERE id = $1', [id])).rows,
    ).toEqual([{ title: 'renamed', pages: 5 }])
    home = await session.get('/')
    await session.post(`/articles/${id}/delete`, { _csrf: InjectSession.csrfOf(home) })
    expect((await db.pool('admin').query('SELECT 1 FROM articles WHERE id = $1', [id])).rowCount).toBe(0)
  })

  it("offers no edit form for a colleague's article, and a forged POST changes nothing", async () => {
    const session = new InjectSession(app)
    await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    const home = await session.get('/')
    const colleague = alpha.users[1]!.articles[0]!
    expect(home.body).not.toContain(`/articles/${colleague.id}/edit`)
    expect((await session.get(`/articles/${colleague.id}/edit`)).statusCode).toBe(403)
    const before = await articleRows()
    const csrf = InjectSession.csrfOf(home)
    const forgedUpdate = await session.post(`/articles/${colleague.id}`, {
      _csrf: csrf,
      title: 'mine now',
      pages: '1',
    })
    const forgedDelete = await session.post(`/articles/${colleague.id}/delete`, { _csrf: csrf })
    const foreignDelete = await session.post(`/articles/${bravo.users[0]!.articles[0]!.id}/delete`, {
      _csrf: csrf,
    })
    expect([forgedUpdate.statusCode, forgedDelete.statusCode, foreignDelete.statusCode]).toEqual([
      403, 403, 404,
    ])
    expect(forgedUpdate.body).toContain('Only the author may change an article')
    expect(await articleRows()).toEqual(before)
  })

  it('invalid form input is a 400 page', async () => {
    const session = new InjectSession(app)
    await session.login('alpha', 'alpha-0', DEMO_PASSWORD)
    const home = await session.get('/')
    const response = await session.post('/articles', {
      _csrf: InjectSession.csrfOf(home),
      title: '',
      pages: 'many',
    })
    expect(response.statusCode).toBe(400)
    expect(response.headers['content-type']).toMatch(/text\/html/)
    expect(response.body).toContain('data-code="ROWFENCE_INVALID_INPUT"')
  })
})

describe('admin', () => {
  async function operator(): Promise<InjectSession> {
    const session = new InjectSession(app)
    const form = await session.get('/admin/login')
    const response = await session.post('/admin/login', {
      _csrf: InjectSession.csrfOf(form),
      name: DEMO_OPERATOR.name,
      password: DEMO_OPERATOR.password,
    })
    expect(response.statusCode).toBe(303)
    return session
  }

  async function auditCount(): Promise<number> {
    return (await db.pool('admin').query('SELECT count(*)::int AS n FROM admin_audit')).rows[0].n
  }

  it('is closed to anonymous visitors and to tenant sessions', async () => {
    expect((await new InjectSession(app).get('/admin')).headers.location).toBe('/admin/login')
    const tenant = new InjectSession(app)
    await tenant.login('alpha', 'alpha-0', DEMO_PASSWORD)
    expect((await tenant.get('/admin')).headers.location).toBe('/admin/login')
  })

  it('shows every tenant with users, articles, counts and page sums; each request leaves one audit row', async () => {
    const session = await operator()
    const before = await auditCount()
    const page = await session.get('/admin')
    expect(page.statusCode).toBe(200)
    const text = page.body.replace(/\s+/g, ' ')
    for (const tenant of articlesDemo) {
      expect(text).toMatch(new RegExp(`data-tenant="${tenant.name}">.*?3 users · 6 articles · 60 pages`))
    }
    expect(await auditCount()).toBe(before + 1)
    const { rows } = await db
      .pool('admin')
      .query('SELECT method, path, cardinality(tenants) AS n FROM admin_audit ORDER BY id DESC LIMIT 1')
    expect(rows[0]).toMatchObject({ method: 'GET', path: '/admin' })
    expect(rows[0].n).toBeGreaterThanOrEqual(3)
    const audit = await session.get('/admin/audit')
    expect(audit.body).toContain('GET /admin<')
    expect(await auditCount()).toBe(before + 2)
  })

  it('signing in and out are audited too', async () => {
    const before = await auditCount()
    const session = await operator()
    const page = await session.get('/admin/audit')
    await session.post('/admin/logout', { _csrf: InjectSession.csrfOf(page) })
    const { rows } = await db
      .pool('admin')
      .query('SELECT method, path FROM admin_audit ORDER BY id DESC LIMIT 3')
    expect(rows.reverse()).toEqual([
      { method: 'POST', path: '/admin/login' },
      { method: 'GET', path: '/admin/audit' },
      { method: 'POST', path: '/admin/logout' },
    ])
    expect(await auditCount()).toBe(before + 3)
    expect((await session.get('/admin')).headers.location).toBe('/admin/login')
  })

  it('a wrong operator password is a 401 page', async () => {
    const session = new InjectSession(app)
    const form = await session.get('/admin/login')
    const response = await session.post('/admin/login', {
      _csrf: InjectSession.csrfOf(form),
      name: 'admin',
      password: 'x',
    })
    expect(response.statusCode).toBe(401)
    expect(session.cookies.has('rowfence_operator')).toBe(false)
  })
})
