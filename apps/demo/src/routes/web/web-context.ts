import type { KeyObject } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Pool } from 'pg'
import type { TenantDatabase } from '@rowfence/core'
import type { LoginLimiter } from '../../auth/login-limiter.ts'
import type { TokenRevocations } from '../../auth/revocations.ts'
import { PAGE_CSP } from '../../plugins/security-headers.ts'

export interface WebOptions {
  readonly db: TenantDatabase
  readonly authPool?: Pool | undefined
  readonly adminPool?: Pool | undefined
  readonly limiter: LoginLimiter
  /** The denylist that logout writes to and every session read checks; without it, pages are not served. */
  readonly revocations?: TokenRevocations | undefined
  readonly jwtSecret: string
  readonly key: KeyObject
}

/** What the page modules share: the options plus the CSRF check registered by webRoutes. */
export interface WebContext extends WebOptions {
  readonly csrfProtection: (request: FastifyRequest, reply: FastifyReply, done: () => void) => void
}

export const SESSION_COOKIE = 'rowfence_session'
export const OPERATOR_COOKIE = 'rowfence_operator'
export const SESSION_SECONDS = 8 * 3600
export const OPERATOR_SESSION_SECONDS = 2 * 3600

export const sessionCookie = { path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto' } as const

/** Page headers on top of the ones every response gets: the pages' CSP, same-origin referrers, no caching. */
export function htmlSecurityHeaders(reply: FastifyReply): void {
  void reply
    .header('content-security-policy', PAGE_CSP)
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
}

export function render(reply: FastifyReply, status: number, page: string): FastifyReply {
  htmlSecurityHeaders(reply)
  return reply.code(status).send(page)
}

/**
 * The path as routed: percent-decoded (`/%61dmin` is `/admin`), without the query string. Undecodable
 * input stays as sent.
 */
export function normalisedPath(url: string): string {
  const path = url.split('?')[0] ?? '/'
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
