import type { FastifyInstance, FastifyReply } from 'fastify'

/** Sent on every response; pages and the API docs replace the CSP with their own. */
export const securityHeaders = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'cross-origin-resource-policy': 'same-origin',
} as const

/** The CSP of the server-rendered pages: own stylesheet and form posts only, no script at all. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

export function applySecurityHeaders(reply: FastifyReply): void {
  void reply.headers(securityHeaders)
}

/** Adds the security headers to every response, set first so any route may tighten or replace them. */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async function securityHeadersHook(_request, reply) {
    applySecurityHeaders(reply)
  })
}
