import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Pool } from 'pg'
import { RowfenceError, type TenantDatabase } from '@rowfence/core'
import { rowfence } from '@rowfence/fastify'
import { LOGIN_WINDOW_SECONDS, LoginLimiter } from './auth/login-limiter.ts'
import { TokenRevocations } from './auth/revocations.ts'
import { secretKey } from './auth/token.ts'
import { createAuthenticate } from './plugins/authenticate.ts'
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './plugins/error-handler.ts'
import { registerRejectNul } from './plugins/reject-nul.ts'
import { RequestLog } from './plugins/request-log.ts'
import { registerSecurityHeaders } from './plugins/security-headers.ts'
import { buildValidator } from './plugins/validation.ts'
import { benchRoutes, type BenchRoutesOptions } from './routes/bench.ts'
import { itemRoutes } from './routes/items.ts'
import { allSchemas } from './routes/schemas.ts'
import { articlesApiRoutes } from './routes/articles-api.ts'
import { apiTokenRoutes } from './routes/api-tokens.ts'
import { webRoutes } from './routes/web/index.ts'
import { tenantRoutes } from './routes/tenants.ts'

export interface DemoAppOptions {
  /** The app-role pool, wrapped: tenant data is reachable only through a context. */
  readonly db: TenantDatabase
  readonly jwtSecret: string
  /** Insecure demo mode: also accept `X-Tenant-Id: <uuid>` without a token. */
  readonly trustTenantHeader?: boolean | undefined
  /** Login lookups (rowfence_auth). Without it, /api/tokens and the login page are not served. */
  readonly authPool?: Pool | undefined
  /** Platform operators (rowfence_admin). Without it, the admin pages are not served. */
  readonly adminPool?: Pool | undefined
  /**
   * Whose X-Forwarded-* to believe (client address, HTTPS): a hop count (1 = the one proxy in front) or
   * the proxies' addresses/CIDRs. Needed for Secure cookies and per-address login limits behind a proxy.
   * Never "every hop": `true` is refused, since then any client picks its own address.
   */
  readonly trustProxy?: false | number | string | readonly string[] | undefined
  /** pino options, or false to silence logs (tests). */
  readonly logger?: FastifyServerOptions['logger'] | undefined
  /**
   * `npm run bench` only: registers the hidden comparison routes (no-RLS baseline, naive transaction)
   * on the raw app-role pool. Off unless given; never part of the served app or its OpenAPI document.
   */
  readonly benchRoutes?: BenchRoutesOptions | undefined
  /** HTTP timeouts; each has a default (see httpTimeoutDefaults). */
  readonly timeouts?: Partial<HttpTimeouts> | undefined
}

export interface HttpTimeouts {
  /** A socket with no traffic for this long is closed (a stalled client, a body trickled slowly). */
  readonly idleMs: number
  /** The whole request (headers and body) must arrive within this time; else 408 and the socket closes. */
  readonly requestMs: number
  /** How long a kept-alive socket may wait for its next request. */
  readonly keepAliveMs: number
}

export const httpTimeoutDefaults: HttpTimeouts = { idleMs: 10_000, requestMs: 15_000, keepAliveMs: 5_000 }

export const APP_VERSION = '0.1.0'

function trustedProxies(
  value: DemoAppOptions['trustProxy'],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (value === undefined || value === false || value === 0) return false
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
    // Hop 0 is the socket's peer; trusting `value` hops believes that many proxies, not every entry.
    return function trustHops(_address: string, hop: number) {
      return hop < value
    }
  }
  if (typeof value === 'string') return value.split(',').map((entry) => entry.trim())
  if (Array.isArray(value)) return [...(value as readonly string[])]
  throw new RowfenceError('ROWFENCE_CONFIG_INVALID', {
    message: 'trustProxy must be a hop count or proxy addresses; trusting every hop is refused',
  })
}

export async function buildApp(options: DemoAppOptions): Promise<FastifyInstance> {
  const timeouts = { ...httpTimeoutDefaults, ...options.timeouts }
  const app = Fastify({
    connectionTimeout: timeouts.idleMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks requestTimeout/headersTimeout on this interval (default 30 s): check every second.
    http: { connectionsCheckingInterval: 1000, headersTimeout: Math.min(timeouts.requestMs, 10_000) },
    logger: options.logger ?? { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] },
    genReqId: () => randomUUID(),
    trustProxy: trustedProxies(options.trustProxy),
    logController: new RequestLog(),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 64 * 1024,
    // Strict JSON bodies, coerced query strings and forms, unknown properties rejected: see validation.ts.
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } },
    // Errors before routing (undecodable URL) and from the HTTP parser answer as { code, message } too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  })

  registerSecurityHeaders(app)
  registerErrorHandling(app)
  registerRejectNul(app)
  for (const schema of allSchemas) app.addSchema(schema)

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rowfence demo API',
        version: APP_VERSION,
        description:
          'Tenant isolation enforced by PostgreSQL row-level security. Every error is `{ code, message }`.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })

  healthRoutes(app, options.db)

  app.get('/openapi.json', { schema: { hide: true } }, async function openapiDocument() {
    return app.swagger()
  })

  const key = secretKey(options.jwtSecret)
  // Revoked token ids live in PostgreSQL, reached through the login role (or the admin role).
  const revocationPool = options.authPool ?? options.adminPool
  const revocations = revocationPool ? new TokenRevocations(revocationPool) : undefined
  const authenticate = createAuthenticate({
    key,
    trustTenantHeader: options.trustTenantHeader ?? false,
    revocations,
  })
  await app.register(async function tenantApi(api) {
    // @rowfence/fastify: the verified token (or, in demo mode, the header) names the tenant before any
    // connection is taken; handlers' withTenant() for that tenant joins the request's lazy transaction,
    // which commits in onSend, before the response goes out. Errors keep the demo's handler.
    await api.register(rowfence, {
      database: options.db,
      resolve: async function resolveDemoTenant(request) {
        await authenticate(request)
        return request.tenant
      },
      errorHandler: false,
    })
    itemRoutes(api, options.db)
    tenantRoutes(api, options.db)
    articlesApiRoutes(api, options.db)
    if (options.benchRoutes) benchRoutes(api, options.benchRoutes)
  })

  // Failed logins are limited per client address and per user + address, in PostgreSQL (every process
  // shares them), for the API and the pages alike.
  const limiter = new LoginLimiter({ windowSeconds: LOGIN_WINDOW_SECONDS })
  if (options.authPool && revocations) {
    await app.register(async function apiTokens(scope) {
      apiTokenRoutes(scope, {
        authPool: options.authPool!,
        limiter,
        jwtSecret: options.jwtSecret,
        revocations,
        authenticate,
      })
    })
  }
  await app.register(webRoutes, {
    db: options.db,
    authPool: options.authPool,
    adminPool: options.adminPool,
    limiter,
    revocations,
    jwtSecret: options.jwtSecret,
    key,
  })

  return app
}

/**
 * Liveness (`/healthz`: the process answers, whatever the database does) and readiness (`/readyz`: a
 * `SELECT 1` as the app role; 503 with Retry-After while the database is down or every connection busy).
 */
function healthRoutes(app: FastifyInstance, db: TenantDatabase): void {
  app.get('/healthz', { schema: { hide: true } }, async function liveness() {
    return { status: 'ok' }
  })
  app.get('/readyz', { schema: { hide: true } }, async function readiness() {
    await db.ping()
    return { status: 'ready' }
  })
}
