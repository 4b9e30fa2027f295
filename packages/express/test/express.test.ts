import type { AddressInfo } from 'node:net'
import express from 'express'
import { tenantErrorHandler, tenantTransaction } from '@rowfence/express'
import { describeMiddlewareContract } from '../../../test/support/middleware-contract.ts'
import { listenAndFetch } from '../../../test/support/http-client.ts'

describeMiddlewareContract('Express', async ({ database, resolve, routes, report }) => {
  const app = express()
  app.use(express.json())
  app.use(tenantTransaction({ database, resolve, report }))
  for (const route of routes) {
    const register = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app)
    register(route.path, async (req, res) => {
      const result = await route.handle((req.body ?? {}) as Record<string, unknown>)
      res.status(result.status).json(result.body)
    })
  }
  app.use(tenantErrorHandler(report))
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  return listenAndFetch(server, (server.address() as AddressInfo).port)
})
