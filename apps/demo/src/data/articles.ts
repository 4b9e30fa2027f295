import { RowfenceError, type TenantQueryable } from '@rowfence/core'
import { DemoError } from '../errors.ts'
import { ARTICLE_LIMITS } from './article-limits.ts'

export interface Article {
  id: string
  user_id: string
  author: string
  title: string
  body: string
  pages: number
  created_at: Date
  updated_at: Date
}

export interface ArticleInput {
  title: string
  body?: string | undefined
  pages?: number | undefined
  /** Defaults to the acting user; anything else is refused by the database (author-only writes). */
  user_id?: string | undefined
}

export type ArticlePatch = Partial<ArticleInput>

const articleSelect = `
  SELECT a.id, a.user_id, u.name AS author, a.title, a.body, a.pages, a.created_at, a.updated_at
    FROM articles a JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id`

export async function listArticles(tx: TenantQueryable): Promise<Article[]> {
  const { rows } = await tx.query<Article>({
    name: 'demo_articles_list',
    text: `${articleSelect} ORDER BY a.title, a.id`,
  })
  return rows
}

export async function getArticle(tx: TenantQueryable, id: string): Promise<Article> {
  const { rows } = await tx.query<Article>({
    name: 'demo_article_get',
    text: `${articleSelect} WHERE a.id = $1`,
    values: [id],
  })
  if (!rows[0]) throw new RowfenceError('ROWFENCE_NOT_FOUND', { message: 'No such article' })
  return rows[0]
}

/**
 * The app does not check authorship itself: the statement goes to PostgreSQL as is and the RLS policies
 * decide. A write they filter out (0 rows) is told apart afterwards: a row the tenant can still read is a
 * colleague's (403 ROWFENCE_FORBIDDEN); one it cannot see does not exist for it (404).
 */
async function explainMissingWrite(tx: TenantQueryable, id: string): Promise<never> {
  const { rowCount } = await tx.query('SELECT 1 FROM articles WHERE id = $1', [id])
  if (rowCount)
    throw new RowfenceError('ROWFENCE_FORBIDDEN', { message: 'Only the author may change an article' })
  throw new RowfenceError('ROWFENCE_NOT_FOUND', { message: 'No such article' })
}

/**
 * The per-user quota: a user owns at most ARTICLE_LIMITS.perUser articles. A transaction-scoped advisory
 * lock per user makes concurrent creates by one user count one after another.
 */
async function assertArticleQuota(tx: TenantQueryable, userId: string | null): Promise<void> {
  const author = 'COALESCE($1::uuid, rowfence.current_user_id())'
  // Two statements: the count's snapshot must be taken after the lock is granted.
  await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('rowfence.article_quota:' || ${author}::text, 0))`,
    [userId],
  )
  const { rows } = await tx.query<{ owned: string }>(
    `SELECT count(*) AS owned FROM articles WHERE user_id = ${author}`,
    [userId],
  )
  if (Number(rows[0]?.owned ?? 0) >= ARTICLE_LIMITS.perUser) {
    throw new DemoError('ROWFENCE_QUOTA_EXCEEDED', {
      message: `A user may own at most ${ARTICLE_LIMITS.perUser} articles`,
    })
  }
}

export async function createArticle(
  tx: TenantQueryable & { context: { tenantId: string } },
  input: ArticleInput,
): Promise<Article> {
  await assertArticleQuota(tx, input.user_id ?? null)
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO articles (tenant_id, user_id, title, body, pages)
     VALUES ($1, COALESCE($2::uuid, rowfence.current_user_id()), $3, COALESCE($4, ''), COALESCE($5, 0))
     RETURNING id`,
    [tx.context.tenantId, input.user_id ?? null, input.title, input.body ?? null, input.pages ?? null],
  )
  return getArticle(tx, rows[0]!.id)
}

export async function updateArticle(tx: TenantQueryable, id: string, patch: ArticlePatch): Promise<Article> {
  const { rowCount } = await tx.query(
    `UPDATE articles
        SET title = COALESCE($2, title), body = COALESCE($3, body), pages = COALESCE($4, pages),
            user_id = COALESCE($5::uuid, user_id), updated_at = now()
      WHERE id = $1`,
    [id, patch.title ?? null, patch.body ?? null, patch.pages ?? null, patch.user_id ?? null],
  )
  if (!rowCount) return explainMissingWrite(tx, id)
  return getArticle(tx, id)
}

export async function deleteArticle(tx: TenantQueryable, id: string): Promise<void> {
  const { rowCount } = await tx.query('DELETE FROM articles WHERE id = $1', [id])
  if (!rowCount) await explainMissingWrite(tx, id)
}
