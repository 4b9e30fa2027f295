import { Hono } from 'hono'
import { eq } from 'drizzle-orm'
import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { RowfenceError } from '@rowfence/core'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { jwtResolver, tenantErrorHandler, tenantTransaction } from '@rowfence/hono'
import { audience, issuer, jwtSecret } from './config.js'

const notes = pgTable('notes', {
  tenantId: uuid('tenant_id'),
  id: uuid('id').defaultRandom(),
  body: text('body').notNull(),
})
const columns = { id: notes.id, body: notes.body }

/** The notes API. Every query runs in the request's tenant transaction: no tenant id is passed around. */
export function createApp(pool) {
  const db = createTenantDrizzle(pool)
  const app = new Hono()
  app.use(
    tenantTransaction({
      database: pool,
      resolve: jwtResolver({ secret: jwtSecret, algorithms: ['HS256'], audience, issuer }),
    }),
  )

  app.get('/notes', async (c) => c.json(await db.select(columns).from(notes).orderBy(notes.body)))
  app.post('/notes', async (c) => {
    const input = await c.req.json()
    const [note] = await db
      .insert(notes)
      .values({ body: String(input?.body ?? '') })
      .returning(columns)
    return c.json(note, 201)
  })
  app.get('/notes/:id', async (c) => {
    const [note] = await db
      .select(columns)
      .from(notes)
      .where(eq(notes.id, c.req.param('id')))
    if (!note) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    return c.json(note)
  })
  app.delete('/notes/:id', async (c) => {
    const deleted = await db
      .delete(notes)
      .where(eq(notes.id, c.req.param('id')))
      .returning(columns)
    // RLS hides other tenants' rows: deleting one of them deletes nothing, which is a 404.
    if (deleted.length === 0) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    return c.body(null, 204)
  })

  // Hono keeps a handler's error in c.error; the middleware sees it and rolls back.
  app.onError(tenantErrorHandler())
  return app
}
