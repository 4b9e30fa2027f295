import Fastify from 'fastify'
import { Kysely } from 'kysely'
import { RowfenceError } from '@rowfence/core'
import { jwtResolver, rowfence } from '@rowfence/fastify'
import { TenantPostgresDialect } from '@rowfence/kysely'
import { audience, issuer, jwtSecret } from './config.js'

/** The notes API. Every query runs in the request's tenant transaction: no tenant id is passed around. */
export async function createApp(pool) {
  const db = new Kysely({ dialect: new TenantPostgresDialect({ pool }) })
  const app = Fastify()
  await app.register(rowfence, {
    database: pool,
    resolve: jwtResolver({ secret: jwtSecret, algorithms: ['HS256'], audience, issuer }),
  })

  app.get('/notes', async () => db.selectFrom('notes').select(['id', 'body']).orderBy('body').execute())
  app.post('/notes', async (request, reply) => {
    const note = await db
      .insertInto('notes')
      .values({ body: String(request.body?.body ?? '') })
      .returning(['id', 'body'])
      .executeTakeFirstOrThrow()
    return reply.code(201).send(note)
  })
  app.get('/notes/:id', async (request) => {
    const note = await db
      .selectFrom('notes')
      .select(['id', 'body'])
      .where('id', '=', request.params.id)
      .executeTakeFirst()
    if (!note) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    return note
  })
  app.delete('/notes/:id', async (request, reply) => {
    const deleted = await db.deleteFrom('notes').where('id', '=', request.params.id).executeTakeFirst()
    // RLS hides other tenants' rows: deleting one of them deletes nothing, which is a 404.
    if (deleted.numDeletedRows === 0n) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    return reply.code(204).send()
  })
  return app
}
