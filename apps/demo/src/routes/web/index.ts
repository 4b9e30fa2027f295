import { createHmac } from 'node:crypto'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import type { FastifyInstance } from 'fastify'
import { errorPage } from '../../pages/login-page.ts'
import { stylesheet } from '../../pages/styles.ts'
import { toHttpError } from '../../plugins/error-handler.ts'
import { adminPages } from './admin-pages.ts'
import { articleForms } from './article-forms.ts'
import { sessionPages } from './session-pages.ts'
import { htmlSecurityHeaders, sessionCookie, type WebContext, type WebOptions } from './web-context.ts'

export { OPERATOR_COOKIE, SESSION_COOKIE, type WebOptions } from './web-context.ts'

/**
 * Server-rendered pages: tenant login, the tenant's home page with own-article forms, and the admin pages.
 * Sessions are signed JWTs in HttpOnly, SameSite=Lax cookies (Secure behind HTTPS) whose ids logout puts
 * on the revocation list; every form post carries a CSRF token bound to a signed secret cookie.
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
    const retryAfter = failure.details?.['retryAfterSeconds']
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
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

  const context: WebContext = { ...options, csrfProtection: app.csrfProtection.bind(app) }
  sessionPages(app, context)
  articleForms(app, context)
  if (options.adminPool) adminPages(app, context, options.adminPool)
}
