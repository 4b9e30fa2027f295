import Fastify from 'fastify'
import { rowfence } from '@rowfence/fastify'
import { describeMiddlewareContract } from '../../../test/support/middleware-contract.ts'

describeMiddlewareContract('Fastify', async ({ database, resolve, routes }) => {
  const app = Fastify({ logger: false })
  await app.register(rowfence, { database, resolve })
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const result = await route.handle((request.body ?? {}) as Record<string, unknown>)
        return reply.code(result.status).send(result.body)
      },
    })
  }
  await app.ready()
  return {
    async request(method, path, init = {}) {
      const response = await app.inject({
        method,
        url: path,
        headers: init.headers,
        ...(init.body === undefined ? {} : { payload: init.body as Record<string, unknown> }),
      })
      return { status: response.statusCode, body: response.json() }
    },
    close: () => app.close(),
  }
})
