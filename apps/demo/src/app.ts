import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Pool } from 'pg'
import type { TenantDatabase } from '@rowfence/core'
import { LoginLimiter } from './auth/login-limiter.ts'
import { secretKey } from './auth/token.ts'
import { createAuthenticate } from './plugins/authenticate.ts'
import { registerErrorHandling } from './plugins/error-handler.ts'
import { RequestLog } from './plugins/request-log.ts'
import { benchRoutes, type BenchRoutesOptions } from './routes/bench.ts'
import { itemRoutes } from './routes/items.ts'
import { allSchemas } from './routes/schemas.ts'
import { articlesApiRoutes } from './routes/articles-api.ts'
import { apiTokenRoutes } from './routes/api-tokens.ts'
import { webRoutes } from './routes/web.ts'
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
  /** Trust X-Forwarded-* from a proxy in front (Fastify's trustProxy): needed for Secure cookies behind TLS termination. */
  readonly trustProxy?: boolean | string | undefined
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
    trustProxy: options.trustProxy ?? false,
    logController: new RequestLog(),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 64 * 1024,
    // Unknown properties are rejected (400), not silently dropped: a typo such as ?limt=5 is an error.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  })

  registerErrorHandling(app)
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
  await app.register(swaggerUi, { routePrefix: '/docs' })

  healthRoutes(app, options.db)

  app.get('/openapi.json', { schema: { hide: true } }, async function openapiDocument() {
    return app.swagger()
  })

  const key = secretKey(options.jwtSecret)
  const authenticate = createAuthenticate({
    key,
    trustTenantHeader: options.trustTenantHeader ?? false,
  })
  await app.register(async function tenantApi(api) {
    api.addHook('onRequest', authenticate)
    itemRoutes(api, options.db)
    tenantRoutes(api, options.db)
    articlesApiRoutes(api, options.db)
    if (options.benchRoutes) benchRoutes(api, options.benchRoutes)
  })

  // Failed logins are limited per client address and per tenant+user, shared by the API and the pages.
  const limiter = new LoginLimiter({ maxFailures: { ip: 20, user: 5 }, windowMs: 15 * 60_000 })
  if (options.authPool) {
    apiTokenRoutes(app, { authPool: options.authPool, limiter, jwtSecret: options.jwtSecret })
  }
  await app.register(webRoutes, {
    db: options.db,
    authPool: options.authPool,
    adminPool: options.adminPool,
    limiter,
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
