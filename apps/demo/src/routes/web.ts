import { createHmac, type KeyObject } from 'node:crypto'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Pool } from 'pg'
import { RowfenceError, type TenantDatabase } from '@rowfence/core'
import { authenticateOperator, authenticateUser } from '../auth/login.ts'
import { attemptLogin, type LoginLimiter } from '../auth/login-limiter.ts'
import {
  SESSION_AUDIENCE,
  signOperatorSession,
  signToken,
  verifyOperatorSession,
  verifyToken,
} from '../auth/token.ts'
import { allTenants, auditLog, withAudit } from '../data/admin.ts'
import { createArticle, deleteArticle, getArticle, listArticles, updateArticle } from '../data/articles.ts'
import { databaseContext, listUsers, storageReport } from '../data/tenant-overview.ts'
import { adminPage, auditPage } from '../pages/admin-pages.ts'
import { editArticlePage, homePage } from '../pages/home-page.ts'
import { errorPage, loginPage, operatorLoginPage } from '../pages/login-page.ts'
import { stylesheet } from '../pages/styles.ts'
import { toHttpError } from '../plugins/error-handler.ts'
import { loginKeys, WRONG_CREDENTIALS } from './api-tokens.ts'

export interface WebOptions {
  readonly db: TenantDatabase
  readonly authPool?: Pool | undefined
  readonly adminPool?: Pool | undefined
  readonly limiter: LoginLimiter
  readonly jwtSecret: string
  readonly key: KeyObject
}

export const SESSION_COOKIE = 'rowfence_session'
export const OPERATOR_COOKIE = 'rowfence_operator'
const SESSION_SECONDS = 8 * 3600
const OPERATOR_SESSION_SECONDS = 2 * 3600

const sessionCookie = { path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto' } as const

const articleForm = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: {
    _csrf: { type: 'string' },
    title: { type: 'string', minLength: 1, maxLength: 200 },
    body: { type: 'string', maxLength: 20000 },
    pages: { type: 'integer', minimum: 0, maximum: 100000 },
  },
} as const
const idParams = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } as const

interface ArticleForm {
  title: string
  body?: string
  pages?: number
}

interface WebSession {
  tenantId: string
  userId: string
  userName: string
}

declare module 'fastify' {
  interface FastifyRequest {
    webSession?: WebSession
    operator?: { operatorId: string; name: string }
  }
}

function htmlSecurityHeaders(reply: FastifyReply): void {
  void reply
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
}

/**
 * Server-rendered pages: tenant login, the tenant's home page with own-article forms, and the admin pages.
 * Sessions are signed JWTs in HttpOnly, SameSite=Lax cookies (Secure behind HTTPS); every form post
 * carries a CSRF token bound to a signed secret cookie.
 */
export async function webRoutes(app: FastifyInstance, options: WebOptions): Promise<void> {
  await app.register(cookie, {
    secret: createHmac('sha256', options.jwtSecret).update('rowfence:cookies').digest('hex'),
  })
  await app.register(formbody, { bodyLimit: 64 * 1024 })
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieOpts: { ...sessionCookie, signed: true },
    getToken: (request) => (request.body as { _csrf?: string } | undefined)?._csrf,
  })

  app.setErrorHandler(function htmlErrorHandler(error, request, reply) {
    const failure = toHttpError(error)
    if (failure.statusCode >= 500) request.log.error({ err: error, code: failure.code }, 'page failed')
    htmlSecurityHeaders(reply)
    return reply
      .code(failure.statusCode)
      .send(errorPage({ status: failure.statusCode, code: failure.code, message: failure.message }))
  })

  app.get('/assets/app.css', { schema: { hide: true } }, async function stylesheetAsset(_request, reply) {
    return reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(stylesheet)
  })

  const render = (reply: FastifyReply, status: number, page: string) => {
    htmlSecurityHeaders(reply)
    return reply.code(status).send(page)
  }

  async function readSession(request: FastifyRequest): Promise<WebSession | undefined> {
    const token = request.cookies[SESSION_COOKIE]
    if (!token) return undefined
    try {
      const claims = await verifyToken(token, options.key, SESSION_AUDIENCE)
      if (!claims.userId) return undefined
      return { tenantId: claims.tenantId, userId: claims.userId, userName: claims.subject }
    } catch {
      return undefined
    }
  }

  /** preHandler for tenant pages: no valid session -> back to the login page. */
  async function requireSession(request: FastifyRequest, reply: FastifyReply) {
    const session = await readSession(request)
    if (!session) return reply.redirect('/login', 303)
    request.webSession = session
    request.tenant = { tenantId: session.tenantId, userId: session.userId }
  }

  const csrfProtection = app.csrfProtection.bind(app)
  const sessionOf = (request: FastifyRequest) => {
    if (!request.webSession) throw new RowfenceError('ROWFENCE_UNAUTHENTICATED')
    return request.webSession
  }
  const contextOf = (session: WebSession) => ({ tenantId: session.tenantId, userId: session.userId })

  // ---- tenant login ----------------------------------------------------------------------------------
  if (options.authPool) {
    const authPool = options.authPool
    app.get('/login', { schema: { hide: true } }, async function showLogin(request, reply) {
      if (await readSession(request)) return reply.redirect('/', 303)
      return render(reply, 200, loginPage({ csrfToken: reply.generateCsrf() }))
    })

    app.post<{ Body: { tenant: string; user: string; password: string } }>(
      '/login',
      {
        schema: {
          hide: true,
          body: {
            type: 'object',
            required: ['tenant', 'user', 'password'],
            properties: {
              _csrf: { type: 'string' },
              tenant: { type: 'string', minLength: 1, maxLength: 200 },
              user: { type: 'string', minLength: 1, maxLength: 100 },
              password: { type: 'string', minLength: 1, maxLength: 1024 },
            },
          },
        },
        preHandler: csrfProtection,
      },
      async function submitLogin(request, reply) {
        const { tenant, user: userName } = request.body
        const again = (status: number, error: string) =>
          render(reply, status, loginPage({ csrfToken: reply.generateCsrf(), error, tenant, user: userName }))
        let user
        try {
          user = await attemptLogin(
            options.limiter,
            loginKeys(request.ip, request.body),
            () => authenticateUser(authPool, request.body),
            WRONG_CREDENTIALS,
          )
        } catch (error) {
          if (!(error instanceof RowfenceError) || error.statusCode >= 500) throw error
          request.log.info({ tenant, code: error.code }, 'failed login')
          return again(error.statusCode, error.message)
        }
        const token = await signToken({
          secret: options.jwtSecret,
          tenantId: user.tenantId,
          userId: user.userId,
          subject: user.userName,
          audience: SESSION_AUDIENCE,
          expiresIn: `${SESSION_SECONDS}s`,
        })
        void reply.setCookie(SESSION_COOKIE, token, { ...sessionCookie, maxAge: SESSION_SECONDS })
        return reply.redirect('/', 303)
      },
    )
  }

  app.post(
    '/logout',
    { schema: { hide: true }, preHandler: csrfProtection },
    async function logout(_request, reply) {
      void reply.clearCookie(SESSION_COOKIE, sessionCookie)
      return reply.redirect('/login', 303)
    },
  )

  // ---- the tenant's pages ----------------------------------------------------------------------------
  app.get('/', { schema: { hide: true }, preHandler: requireSession }, async function home(request, reply) {
    const session = sessionOf(request)
    const data = await options.db.withTenant(
      contextOf(session),
      async (tx) => ({
        context: await databaseContext(tx),
        users: await listUsers(tx),
        articles: await listArticles(tx),
        storage: await storageReport(tx),
      }),
      { readOnly: true },
    )
    return render(
      reply,
      200,
      homePage({ ...data, userName: session.userName }, { csrfToken: reply.generateCsrf() }),
    )
  })

  app.post<{ Body: ArticleForm }>(
    '/articles',
    { schema: { hide: true, body: articleForm }, preHandler: [requireSession, csrfProtection] },
    async function createFromForm(request, reply) {
      const { title, body, pages } = request.body
      await options.db.withTenant(contextOf(sessionOf(request)), (tx) =>
        createArticle(tx, { title, body, pages }),
      )
      return reply.redirect('/', 303)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/articles/:id/edit',
    { schema: { hide: true, params: idParams }, preHandler: requireSession },
    async function editForm(request, reply) {
      const session = sessionOf(request)
      const article = await options.db.withTenant(
        contextOf(session),
        (tx) => getArticle(tx, request.params.id),
        { readOnly: true },
      )
      // Only a convenience: the form is not offered for a colleague's article. PostgreSQL is what refuses the write.
      if (article.user_id !== session.userId)
        throw new RowfenceError('ROWFENCE_FORBIDDEN', { message: 'Only the author may change an article' })
      return render(
        reply,
        200,
        editArticlePage(article, { csrfToken: reply.generateCsrf(), signedInLabel: session.userName }),
      )
    },
  )

  app.post<{ Params: { id: string }; Body: ArticleForm }>(
    '/articles/:id',
    {
      schema: { hide: true, params: idParams, body: articleForm },
      preHandler: [requireSession, csrfProtection],
    },
    async function updateFromForm(request, reply) {
      const { title, body, pages } = request.body
      await options.db.withTenant(contextOf(sessionOf(request)), (tx) =>
        updateArticle(tx, request.params.id, { title, body, pages }),
      )
      return reply.redirect('/', 303)
    },
  )

  app.post<{ Params: { id: string } }>(
    '/articles/:id/delete',
    { schema: { hide: true, params: idParams }, preHandler: [requireSession, csrfProtection] },
    async function deleteFromForm(request, reply) {
      await options.db.withTenant(contextOf(sessionOf(request)), (tx) => deleteArticle(tx, request.params.id))
      return reply.redirect('/', 303)
    },
  )

  // ---- platform operators ----------------------------------------------------------------------------
  if (options.adminPool) {
    const adminPool = options.adminPool

    async function readOperator(request: FastifyRequest) {
      const token = request.cookies[OPERATOR_COOKIE]
      if (!token) return undefined
      return verifyOperatorSession(token, options.key).catch(() => undefined)
    }

    async function requireOperator(request: FastifyRequest, reply: FastifyReply) {
      const operator = await readOperator(request)
      if (!operator) return reply.redirect('/admin/login', 303)
      request.operator = operator
    }

    const audited = (request: FastifyRequest) => ({
      operatorId: request.operator!.operatorId,
      method: request.method,
      path: request.url.split('?')[0] ?? '/',
    })

    app.get('/admin/login', { schema: { hide: true } }, async function showOperatorLogin(request, reply) {
      if (await readOperator(request)) return reply.redirect('/admin', 303)
      return render(reply, 200, operatorLoginPage({ csrfToken: reply.generateCsrf() }))
    })

    app.post<{ Body: { name: string; password: string } }>(
      '/admin/login',
      {
        schema: {
          hide: true,
          body: {
            type: 'object',
            required: ['name', 'password'],
            properties: {
              _csrf: { type: 'string' },
              name: { type: 'string', minLength: 1, maxLength: 100 },
              password: { type: 'string', minLength: 1, maxLength: 1024 },
            },
          },
        },
        preHandler: csrfProtection,
      },
      async function submitOperatorLogin(request, reply) {
        const again = (status: number, error: string) =>
          render(
            reply,
            status,
            operatorLoginPage({ csrfToken: reply.generateCsrf(), error, name: request.body.name }),
          )
        let operator
        try {
          operator = await attemptLogin(
            options.limiter,
            loginKeys(request.ip, { tenant: '(operators)', user: request.body.name }),
            () => authenticateOperator(adminPool, request.body),
            'Wrong operator name or password',
          )
        } catch (error) {
          if (!(error instanceof RowfenceError) || error.statusCode >= 500) throw error
          request.log.warn({ operator: request.body.name, code: error.code }, 'failed operator login')
          return again(error.statusCode, error.message)
        }
        // Signing in is an operator request too: it is audited like every other.
        await withAudit(
          adminPool,
          { ...operator, method: request.method, path: '/admin/login' },
          async () => undefined,
        )
        const token = await signOperatorSession({
          ...operator,
          secret: options.jwtSecret,
          expiresIn: `${OPERATOR_SESSION_SECONDS}s`,
        })
        void reply.setCookie(OPERATOR_COOKIE, token, { ...sessionCookie, maxAge: OPERATOR_SESSION_SECONDS })
        return reply.redirect('/admin', 303)
      },
    )

    app.post(
      '/admin/logout',
      { schema: { hide: true }, preHandler: csrfProtection },
      async function operatorLogout(request, reply) {
        const operator = await readOperator(request)
        if (operator) {
          await withAudit(
            adminPool,
            { ...operator, method: request.method, path: '/admin/logout' },
            async () => undefined,
          )
        }
        void reply.clearCookie(OPERATOR_COOKIE, sessionCookie)
        return reply.redirect('/admin/login', 303)
      },
    )

    app.get(
      '/admin',
      { schema: { hide: true }, preHandler: requireOperator },
      async function adminHome(request, reply) {
        const tenants = await withAudit(adminPool, audited(request), async (client, touch) => {
          const all = await allTenants(client)
          touch(all.map((tenant) => tenant.id))
          return all
        })
        return render(
          reply,
          200,
          adminPage(tenants, { operator: request.operator!.name, csrfToken: reply.generateCsrf() }),
        )
      },
    )

    app.get(
      '/admin/audit',
      { schema: { hide: true }, preHandler: requireOperator },
      async function adminAudit(request, reply) {
        const entries = await withAudit(adminPool, audited(request), (client) => auditLog(client))
        return render(
          reply,
          200,
          auditPage(entries, { operator: request.operator!.name, csrfToken: reply.generateCsrf() }),
        )
      },
    )
  }
}
