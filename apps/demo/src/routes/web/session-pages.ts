import type { FastifyInstance, FastifyRequest, FastifyReply } from 'fastify'
import { authenticateUser } from '../../auth/login.ts'
import { tenantLoginKeys } from '../../auth/login-limiter.ts'
import { SESSION_AUDIENCE, signToken, verifyToken } from '../../auth/token.ts'
import { DemoError, isHttpError } from '../../errors.ts'
import { loginPage } from '../../pages/login-page.ts'
import { WRONG_CREDENTIALS } from '../api-tokens.ts'
import { render, SESSION_COOKIE, SESSION_SECONDS, sessionCookie, type WebContext } from './web-context.ts'

export interface WebSession {
  tenantId: string
  userId: string
  userName: string
  tokenId: string
  expiresAt: Date
}

declare module 'fastify' {
  interface FastifyRequest {
    webSession?: WebSession
  }
}

const loginBody = {
  type: 'object',
  required: ['tenant', 'user', 'password'],
  additionalProperties: false,
  properties: {
    _csrf: { type: 'string' },
    tenant: { type: 'string', minLength: 1, maxLength: 200 },
    user: { type: 'string', minLength: 1, maxLength: 100 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const

/** The tenant session in the cookie: signed, unexpired and not revoked (logged out), or undefined. */
export async function readSession(
  context: WebContext,
  request: FastifyRequest,
): Promise<WebSession | undefined> {
  const token = request.cookies[SESSION_COOKIE]
  if (!token) return undefined
  let claims
  try {
    claims = await verifyToken(token, context.key, SESSION_AUDIENCE)
  } catch {
    return undefined
  }
  if (!claims.userId) return undefined
  // A database failure here is a 503, not a silent "logged out": the error travels on.
  if (await context.revocations?.isRevoked(claims.tokenId)) return undefined
  return {
    tenantId: claims.tenantId,
    userId: claims.userId,
    userName: claims.subject,
    tokenId: claims.tokenId,
    expiresAt: claims.expiresAt,
  }
}

/** preHandler for tenant pages: no valid session -> back to the login page. */
export function sessionGuard(context: WebContext) {
  return async function requireSession(request: FastifyRequest, reply: FastifyReply) {
    const session = await readSession(context, request)
    if (!session) return reply.redirect('/login', 303)
    request.webSession = session
    request.tenant = { tenantId: session.tenantId, userId: session.userId }
  }
}

export function sessionOf(request: FastifyRequest): WebSession {
  if (!request.webSession) throw new DemoError('ROWFENCE_UNAUTHENTICATED')
  return request.webSession
}

/** Tenant login and logout. Logout revokes the session's token id, so a copied cookie dies with it. */
export function sessionPages(app: FastifyInstance, context: WebContext): void {
  const authPool = context.authPool
  if (authPool) {
    app.get('/login', { schema: { hide: true } }, async function showLogin(request, reply) {
      if (await readSession(context, request)) return reply.redirect('/', 303)
      return render(reply, 200, loginPage({ csrfToken: reply.generateCsrf() }))
    })

    app.post<{ Body: { tenant: string; user: string; password: string } }>(
      '/login',
      { schema: { hide: true, body: loginBody }, preHandler: context.csrfProtection },
      async function submitLogin(request, reply) {
        const { tenant, user: userName } = request.body
        let user
        try {
          user = await context.limiter.attempt(
            authPool,
            tenantLoginKeys(request.ip, request.body),
            () => authenticateUser(authPool, request.body),
            WRONG_CREDENTIALS,
          )
        } catch (error) {
          if (!isHttpError(error) || error.statusCode >= 500) throw error
          request.log.info({ tenant, code: error.code }, 'failed login')
          const retryAfter = error.details?.['retryAfterSeconds']
          if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
          return render(
            reply,
            error.statusCode,
            loginPage({ csrfToken: reply.generateCsrf(), error: error.message, tenant, user: userName }),
          )
        }
        const token = await signToken({
          secret: context.jwtSecret,
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
    { schema: { hide: true }, preHandler: context.csrfProtection },
    async function logout(request, reply) {
      const session = await readSession(context, request)
      if (session) await context.revocations?.revoke(session)
      void reply.clearCookie(SESSION_COOKIE, sessionCookie)
      return reply.redirect('/login', 303)
    },
  )
}
