import type { FastifyInstance } from 'fastify'
import { RowfenceError } from '@rowfence/core'
import { articleFieldSchemas } from '../../data/article-limits.ts'
import { createArticle, deleteArticle, getArticle, listArticles, updateArticle } from '../../data/articles.ts'
import { databaseContext, listUsers, storageReport } from '../../data/tenant-overview.ts'
import { editArticlePage, homePage } from '../../pages/home-page.ts'
import { sessionGuard, sessionOf, type WebSession } from './session-pages.ts'
import { render, type WebContext } from './web-context.ts'

const articleForm = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: { _csrf: { type: 'string' }, ...articleFieldSchemas },
} as const
const idParams = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } as const

interface ArticleForm {
  title: string
  body?: string
  pages?: number
}

const contextOf = (session: WebSession) => ({ tenantId: session.tenantId, userId: session.userId })

/** The tenant's home page and the own-article forms (create, edit, delete). */
export function articleForms(app: FastifyInstance, context: WebContext): void {
  const requireSession = sessionGuard(context)
  const { db, csrfProtection } = context

  app.get('/', { schema: { hide: true }, preHandler: requireSession }, async function home(request, reply) {
    const session = sessionOf(request)
    const data = await db.withTenant(
      contextOf(session),
      async (tx) => ({
        context: await databaseContext(tx),
        users: await listUsers(tx),
        articles: await listArticles(tx),
        storage: await storageReport(tx),
      }),
      { readOnly: true },
    )
    return render(
      reply,
      200,
      homePage({ ...data, userName: session.userName }, { csrfToken: reply.generateCsrf() }),
    )
  })

  app.post<{ Body: ArticleForm }>(
    '/articles',
    { schema: { hide: true, body: articleForm }, preHandler: [requireSession, csrfProtection] },
    async function createFromForm(request, reply) {
      const { title, body, pages } = request.body
      await db.withTenant(contextOf(sessionOf(request)), (tx) => createArticle(tx, { title, body, pages }))
      return reply.redirect('/', 303)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/articles/:id/edit',
    { schema: { hide: true, params: idParams }, preHandler: requireSession },
    async function editForm(request, reply) {
      const session = sessionOf(request)
      const article = await db.withTenant(contextOf(session), (tx) => getArticle(tx, request.params.id), {
        readOnly: true,
      })
      // Only a convenience: the form is not offered for a colleague's article. PostgreSQL is what refuses the write.
      if (article.user_id !== session.userId)
        throw new RowfenceError('ROWFENCE_FORBIDDEN', { message: 'Only the author may change an article' })
      return render(
        reply,
        200,
        editArticlePage(article, { csrfToken: reply.generateCsrf(), signedInLabel: session.userName }),
      )
    },
  )

  app.post<{ Params: { id: string }; Body: ArticleForm }>(
    '/articles/:id',
    {
      schema: { hide: true, params: idParams, body: articleForm },
      preHandler: [requireSession, csrfProtection],
    },
    async function updateFromForm(request, reply) {
      const { title, body, pages } = request.body
      await db.withTenant(contextOf(sessionOf(request)), (tx) =>
        updateArticle(tx, request.params.id, { title, body, pages }),
      )
      return reply.redirect('/', 303)
    },
  )

  app.post<{ Params: { id: string } }>(
    '/articles/:id/delete',
    { schema: { hide: true, params: idParams }, preHandler: [requireSession, csrfProtection] },
    async function deleteFromForm(request, reply) {
      await db.withTenant(contextOf(sessionOf(request)), (tx) => deleteArticle(tx, request.params.id))
      return reply.redirect('/', 303)
    },
  )
}
