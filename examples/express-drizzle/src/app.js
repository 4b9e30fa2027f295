import express from 'express'
import { and, eq } from 'drizzle-orm'
import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { RowfenceError } from '@rowfence/core'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { jwtResolver, tenantErrorHandler, tenantTransaction } from '@rowfence/express'
import { audience, issuer, jwtSecret } from './config.js'

const notes = pgTable('notes', {
  tenantId: uuid('tenant_id'),
  id: uuid('id').defaultRandom(),
  body: text('body').notNull(),
})

/** The notes API. Every query runs in the request's tenant transaction: no tenant id is passed around. */
export function createApp(pool) {
  const db = createTenantDrizzle(pool)
  const app = express()
  app.use(express.json())
  app.use(
    tenantTransaction({
      database: pool,
      resolve: jwtResolver({ secret: jwtSecret, algorithms: ['HS256'], audience, issuer }),
    }),
  )

  app.get('/notes', async (_req, res) => {
    res.json(await db.select({ id: notes.id, body: notes.body }).from(notes).orderBy(notes.body))
  })
  app.post('/notes', async (req, res) => {
    const [note] = await db
      .insert(notes)
      .values({ body: String(req.body?.body ?? '') })
      .returning({ id: notes.id, body: notes.body })
    res.status(201).json(note)
  })
  app.get('/notes/:id', async (req, res) => {
    const [note] = await db
      .select({ id: notes.id, body: notes.body })
      .from(notes)
      .where(eq(notes.id, req.params.id))
    if (!note) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    res.json(note)
  })
  app.delete('/notes/:id', async (req, res) => {
    const deleted = await db
      .delete(notes)
      .where(and(eq(notes.id, req.params.id)))
      .returning({ id: notes.id })
    // RLS hides other tenants' rows: deleting one of them deletes nothing, which is a 404.
    if (deleted.length === 0) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    res.status(204).end()
  })

  app.use(tenantErrorHandler())
  return app
}
