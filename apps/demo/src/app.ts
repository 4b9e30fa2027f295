import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TenantDatabase } from '@rowfence/core'
import { secretKey } from './auth/token.ts'
import { createAuthenticate } from './plugins/authenticate.ts'
import { registerErrorHandling } from './plugins/error-handler.ts'
import { RequestLog } from './plugins/request-log.ts'
import { benchRoutes, type BenchRoutesOptions } from './routes/bench.ts'
import { itemRoutes } from './routes/items.ts'
import { errorSchema, itemSchema, tenantSchema } from './routes/schemas.ts'
import { tenantRoutes } from './routes/tenants.ts'

export interface DemoAppOptions {
  /** The app-role pool, wrapped: tenant data is reachable only through a context. */
  readonly db: TenantDatabase
  readonly jwtSecret: string
  /** Insecure demo mode: also accept `X-Tenant-Id: <uuid>` without a token. */
  readonly trustTenantHeader?: boolean | undefined
  /** pino options, or false to silence logs (tests). */
  readonly logger?: FastifyServerOptions['logger'] | undefined
  /**
   * `npm run bench` only: registers the hidden comparison routes (no-RLS baseline, naive transaction)
   * on the raw app-role pool. Off unless given; never part of the served app or its OpenAPI document.
   */
  readonly benchRoutes?: BenchRoutesOptions | undefined
}

export const APP_VERSION = '0.1.0'

export async function buildApp(options: DemoAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] },
    genReqId: () => randomUUID(),
    logController: new RequestLog(),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 64 * 1024,
    // Unknown properties are rejected (400), not silently dropped: a typo such as ?limt=5 is an error.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  })

  registerErrorHandling(app)
  app.addSchema(itemSchema)
  app.addSchema(tenantSchema)
  app.addSchema(errorSchema)

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

  app.get('/openapi.json', { schema: { hide: true } }, async function openapiDocument() {
    return app.swagger()
  })

  const authenticate = createAuthenticate({
    key: secretKey(options.jwtSecret),
    trustTenantHeader: options.trustTenantHeader ?? false,
  })
  await app.register(async function tenantApi(api) {
    api.addHook('onRequest', authenticate)
    itemRoutes(api, options.db)
    tenantRoutes(api, options.db)
    if (options.benchRoutes) benchRoutes(api, options.benchRoutes)
  })

  return app
}
