import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Pool } from 'pg'
import { authenticateOperator } from '../../auth/login.ts'
import { operatorLoginKeys } from '../../auth/login-limiter.ts'
import { signOperatorSession, verifyOperatorSession } from '../../auth/token.ts'
import { allTenants, auditLog, withAudit, type AuditedRequest } from '../../data/admin.ts'
import { isHttpError } from '../../errors.ts'
import { adminPage, auditPage } from '../../pages/admin-pages.ts'
import { operatorLoginPage } from '../../pages/login-page.ts'
import {
  normalisedPath,
  OPERATOR_COOKIE,
  OPERATOR_SESSION_SECONDS,
  render,
  sessionCookie,
  type WebContext,
} from './web-context.ts'

interface OperatorSession {
  operatorId: string
  name: string
  tokenId: string
  expiresAt: Date
}

declare module 'fastify' {
  interface FastifyRequest {
    operator?: OperatorSession
  }
}

const operatorLoginBody = {
  type: 'object',
  required: ['name', 'password'],
  additionalProperties: false,
  properties: {
    _csrf: { type: 'string' },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const

/** What an audit row records of a request: who, the method, the route pattern and the normalised path. */
function audited(request: FastifyRequest, operatorId: string): AuditedRequest {
  return {
    operatorId,
    method: request.method,
    route: request.routeOptions.url ?? '',
    path: normalisedPath(request.url),
  }
}

/** Platform operators: their own login, read-only pages on the admin role, an audit row per request. */
export function adminPages(app: FastifyInstance, context: WebContext, adminPool: Pool): void {
  const { csrfProtection } = context

  async function readOperator(request: FastifyRequest): Promise<OperatorSession | undefined> {
    const token = request.cookies[OPERATOR_COOKIE]
    if (!token) return undefined
    const operator = await verifyOperatorSession(token, context.key).catch(() => undefined)
    if (!operator || (await context.revocations?.isRevoked(operator.tokenId))) return undefined
    return operator
  }

  async function requireOperator(request: FastifyRequest, reply: FastifyReply) {
    const operator = await readOperator(request)
    if (!operator) return reply.redirect('/admin/login', 303)
    request.operator = operator
  }

  app.get('/admin/login', { schema: { hide: true } }, async function showOperatorLogin(request, reply) {
    if (await readOperator(request)) return reply.redirect('/admin', 303)
    return render(reply, 200, operatorLoginPage({ csrfToken: reply.generateCsrf() }))
  })

  app.post<{ Body: { name: string; password: string } }>(
    '/admin/login',
    { schema: { hide: true, body: operatorLoginBody }, preHandler: csrfProtection },
    async function submitOperatorLogin(request, reply) {
      let operator
      try {
        operator = await context.limiter.attempt(
          adminPool,
          operatorLoginKeys(request.ip, request.body.name),
          () => authenticateOperator(adminPool, request.body),
          'Wrong operator name or password',
        )
      } catch (error) {
        if (!isHttpError(error) || error.statusCode >= 500) throw error
        request.log.warn({ operator: request.body.name, code: error.code }, 'failed operator login')
        const retryAfter = error.details?.['retryAfterSeconds']
        if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
        return render(
          reply,
          error.statusCode,
          operatorLoginPage({
            csrfToken: reply.generateCsrf(),
            error: error.message,
            name: request.body.name,
          }),
        )
      }
      // Signing in is an operator request too: it is audited like every other.
      await withAudit(adminPool, audited(request, operator.operatorId), async () => undefined)
      const token = await signOperatorSession({
        ...operator,
        secret: context.jwtSecret,
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
        await withAudit(adminPool, audited(request, operator.operatorId), async () => undefined)
        await context.revocations?.revoke(operator)
      }
      void reply.clearCookie(OPERATOR_COOKIE, sessionCookie)
      return reply.redirect('/admin/login', 303)
    },
  )

  app.get(
    '/admin',
    { schema: { hide: true }, preHandler: requireOperator },
    async function adminHome(request, reply) {
      const tenants = await withAudit(
        adminPool,
        audited(request, request.operator!.operatorId),
        async (client, touch) => {
          const all = await allTenants(client)
          touch(all.map((tenant) => tenant.id))
          return all
        },
      )
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
      const entries = await withAudit(adminPool, audited(request, request.operator!.operatorId), (client) =>
        auditLog(client),
      )
      return render(
        reply,
        200,
        auditPage(entries, { operator: request.operator!.name, csrfToken: reply.generateCsrf() }),
      )
    },
  )
}
