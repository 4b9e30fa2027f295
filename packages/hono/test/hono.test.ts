import { Hono } from 'hono'
import { tenantErrorHandler, tenantTransaction } from '@rowfence/hono'
import { describeMiddlewareContract } from '../../../test/support/middleware-contract.ts'

describeMiddlewareContract('Hono', async ({ database, resolve, routes, report }) => {
  const app = new Hono()
  app.use(tenantTransaction({ database, resolve, report }))
  for (const route of routes) {
    app.on(route.method, route.path, async (c) => {
      const body = route.method === 'POST' ? ((await c.req.json()) as Record<string, unknown>) : {}
      const result = await route.handle(body)
      return c.json(result.body, result.status as 200)
    })
  }
  app.onError(tenantErrorHandler(report))
  return {
    async request(method, path, init = {}) {
      const response = await app.request(path, {
        method,
        headers: {
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      })
      return { status: response.status, body: await response.json() }
    },
    close: async () => undefined,
  }
})
