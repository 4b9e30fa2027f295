import type { FastifyInstance } from 'fastify'
import type { TenantDatabase } from '@rowfence/core'
import {
  createArticle,
  deleteArticle,
  getArticle,
  listArticles,
  updateArticle,
  type ArticleInput,
} from '../data/articles.ts'
import { articleFieldSchemas } from '../data/article-limits.ts'
import { listUsers, storageReport } from '../data/tenant-overview.ts'
import { tenantOf } from '../plugins/authenticate.ts'
import { errorResponses } from './schemas.ts'

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const

const articleFields = {
  ...articleFieldSchemas,
  user_id: {
    type: 'string',
    format: 'uuid',
    description:
      'The author; defaults to the caller. Only the caller may be the author (enforced by PostgreSQL).',
  },
} as const

const writeErrors = {
  ...errorResponses,
  409: { description: 'The per-user article quota is used up (ROWFENCE_QUOTA_EXCEEDED)', $ref: 'Error#' },
  403: {
    description: "Not the author: a colleague's article, or authorship given away (ROWFENCE_FORBIDDEN)",
    $ref: 'Error#',
  },
  404: { description: 'No such article for this tenant (ROWFENCE_NOT_FOUND)', $ref: 'Error#' },
} as const

const security = [{ bearerAuth: [] }]

/**
 * The articles API. Reads are the whole tenant's; writes go to PostgreSQL unchecked by the app and the
 * RLS policies allow only the author. Another tenant's id is a 404; a colleague's article is readable,
 * and PATCH/DELETE on it is a 403 with nothing changed.
 */
export function articlesApiRoutes(app: FastifyInstance, db: TenantDatabase): void {
  app.get(
    '/api/users',
    {
      schema: {
        summary: "The tenant's users with article counts",
        tags: ['articles app'],
        security,
        response: { 200: { type: 'array', items: { $ref: 'User#' } }, ...errorResponses },
      },
    },
    async function listTenantUsers(request) {
      return db.withTenant(tenantOf(request), (tx) => listUsers(tx), { readOnly: true })
    },
  )

  app.get(
    '/api/articles',
    {
      schema: {
        summary: "All of the tenant's articles (colleagues' included)",
        tags: ['articles app'],
        security,
        response: { 200: { type: 'array', items: { $ref: 'Article#' } }, ...errorResponses },
      },
    },
    async function listTenantArticles(request) {
      return db.withTenant(tenantOf(request), (tx) => listArticles(tx), { readOnly: true })
    },
  )

  app.post<{ Body: ArticleInput }>(
    '/api/articles',
    {
      schema: {
        summary: 'Create an article as the caller',
        tags: ['articles app'],
        security,
        body: { type: 'object', additionalProperties: false, required: ['title'], properties: articleFields },
        response: { 201: { $ref: 'Article#' }, ...writeErrors },
      },
    },
    async function createTenantArticle(request, reply) {
      const article = await db.withTenant(tenantOf(request), (tx) => createArticle(tx, request.body))
      return reply.code(201).header('location', `/api/articles/${article.id}`).send(article)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/api/articles/:id',
    {
      schema: {
        summary: 'One article of the tenant',
        tags: ['articles app'],
        security,
        params: idParams,
        response: { 200: { $ref: 'Article#' }, ...writeErrors },
      },
    },
    async function getTenantArticle(request) {
      return db.withTenant(tenantOf(request), (tx) => getArticle(tx, request.params.id), { readOnly: true })
    },
  )

  app.patch<{ Params: { id: string }; Body: Partial<ArticleInput> }>(
    '/api/articles/:id',
    {
      schema: {
        summary: 'Change an own article',
        tags: ['articles app'],
        security,
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: articleFields },
        response: { 200: { $ref: 'Article#' }, ...writeErrors },
      },
    },
    async function updateTenantArticle(request) {
      return db.withTenant(tenantOf(request), (tx) => updateArticle(tx, request.params.id, request.body))
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/api/articles/:id',
    {
      schema: {
        summary: 'Delete an own article',
        tags: ['articles app'],
        security,
        params: idParams,
        response: { 204: { description: 'Deleted', type: 'null' }, ...writeErrors },
      },
    },
    async function deleteTenantArticle(request, reply) {
      await db.withTenant(tenantOf(request), (tx) => deleteArticle(tx, request.params.id))
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/storage',
    {
      schema: {
        summary: "The tenant's storage: rows and bytes per table, and the total",
        tags: ['articles app'],
        security,
        response: { 200: { $ref: 'Storage#' }, ...errorResponses },
      },
    },
    async function tenantStorage(request) {
      return db.withTenant(tenantOf(request), (tx) => storageReport(tx), { readOnly: true })
    },
  )
}
