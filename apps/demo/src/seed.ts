import { createRequire } from 'node:module'
import type { Pool } from 'pg'
import { withTenant, type ContextMode } from '@rowfence/core'
import { hashPassword } from './auth/passwords.ts'
import { demoUuid } from './demo-ids.ts'

export interface DemoTenant {
  readonly id: string
  readonly name: string
}

export interface DemoItem {
  readonly id: string
  readonly title: string
  readonly tenant_id: string
}

/** The demo data set of the FastAPI RLS demo: 3 tenants, 15 items, fixed ids. */
export const itemsDemo: { readonly tenants: readonly DemoTenant[]; readonly items: readonly DemoItem[] } =
  createRequire(import.meta.url)('../fixtures/items-demo.json')

/** How the seed writes: `contextMode: 'set-local'` on Citus (see docs/citus.md). */
export interface SeedOptions {
  readonly contextMode?: ContextMode | undefined
}

/**
 * Loads the demo data. Idempotent (existing rows are left alone) and written through the tenant context
 * like any other tenant write: the tables FORCE row-level security, so even the owner role can only write
 * the tenant it is acting as.
 */
export async function seedItemsDemo(
  pool: Pool,
  options: SeedOptions = {},
): Promise<{ tenants: number; items: number }> {
  let tenants = 0
  let items = 0
  for (const tenant of itemsDemo.tenants) {
    const own = itemsDemo.items.filter((item) => item.tenant_id === tenant.id)
    await withTenant(
      pool,
      { tenantId: tenant.id },
      async (tx) => {
        const inserted = await tx.query(
          'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [tenant.id, tenant.name],
        )
        tenants += inserted.rowCount ?? 0
        // Multi-row VALUES rather than INSERT ... SELECT: Citus refuses the latter on tables with RLS.
        const result = await tx.query(
          `INSERT INTO items (tenant_id, id, title) VALUES ${valuesList(own.length, 3)} ON CONFLICT DO NOTHING`,
          own.flatMap((item) => [tenant.id, item.id, item.title]),
        )
        items += result.rowCount ?? 0
      },
      options,
    )
  }
  return { tenants, items }
}

/** The password of every demo user; printed by `npm start`. */
export const DEMO_PASSWORD = 'rowfence-demo'
/** The demo platform operator (admin pages). */
export const DEMO_OPERATOR = { name: 'admin', password: 'rowfence-admin' } as const
export const DEMO_ARTICLE_BODY = 'The quick brown fox jumps over the lazy dog.'

export interface ArticlesDemoTenant {
  readonly id: string
  readonly name: string
  readonly users: readonly {
    readonly id: string
    readonly name: string
    readonly articles: readonly { id: string; title: string }[]
  }[]
}

/** Tenants alpha, bravo, charlie; users <tenant>-0..2; two articles each, "<tenant> <n>-<m>", 10 pages. */
export const articlesDemo: readonly ArticlesDemoTenant[] = ['alpha', 'bravo', 'charlie'].map((tenant) => ({
  id: demoUuid(`tenant:${tenant}`),
  name: tenant,
  users: [0, 1, 2].map((n) => ({
    id: demoUuid(`user:${tenant}-${n}`),
    name: `${tenant}-${n}`,
    articles: [0, 1].map((m) => ({
      id: demoUuid(`article:${tenant}-${n}-${m}`),
      title: `${tenant} ${n}-${m}`,
    })),
  })),
}))

/** Seeds the articles app's tenants, users, articles and the demo operator. Idempotent. */
export async function seedArticlesDemo(
  pool: Pool,
  options: SeedOptions = {},
): Promise<{ tenants: number; users: number; articles: number; operators: number }> {
  let tenants = 0
  let users = 0
  let articles = 0
  for (const tenant of articlesDemo) {
    await withTenant(
      pool,
      { tenantId: tenant.id },
      async (tx) => {
        const inserted = await tx.query(
          'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [tenant.id, tenant.name],
        )
        tenants += inserted.rowCount ?? 0
        const existing = new Set(
          (await tx.query<{ name: string }>('SELECT name FROM users')).rows.map((row) => row.name),
        )
        for (const user of tenant.users) {
          if (existing.has(user.name)) continue
          const inserted = await tx.query(
            'INSERT INTO users (tenant_id, id, name, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
            [tenant.id, user.id, user.name, await hashPassword(DEMO_PASSWORD)],
          )
          users += inserted.rowCount ?? 0
        }
      },
      options,
    )
    // Articles are written as their author: the insert policy wants user_id = the user in context, for
    // the owner role too.
    for (const user of tenant.users) {
      await withTenant(
        pool,
        { tenantId: tenant.id, userId: user.id },
        async (tx) => {
          const inserted = await tx.query(
            `INSERT INTO articles (tenant_id, id, user_id, title, body, pages)
             VALUES ${valuesList(user.articles.length, 5, ', 10')} ON CONFLICT DO NOTHING`,
            user.articles.flatMap((article) => [
              tenant.id,
              article.id,
              user.id,
              article.title,
              DEMO_ARTICLE_BODY,
            ]),
          )
          articles += inserted.rowCount ?? 0
        },
        options,
      )
    }
  }
  const { rowCount: known } = await pool.query('SELECT 1 FROM platform_operators WHERE name = $1', [
    DEMO_OPERATOR.name,
  ])
  let operators = 0
  if (!known) {
    const inserted = await pool.query(
      'INSERT INTO platform_operators (id, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [
        demoUuid(`operator:${DEMO_OPERATOR.name}`),
        DEMO_OPERATOR.name,
        await hashPassword(DEMO_OPERATOR.password),
      ],
    )
    operators = inserted.rowCount ?? 0
  }
  return { tenants, users, articles, operators }
}

export interface SeedCounts {
  readonly tenants: number
  readonly items: number
  readonly users: number
  readonly articles: number
  readonly operators: number
}

/** `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` parameters, each row ending with `extra`. */
function valuesList(rows: number, columns: number, extra = ''): string {
  return Array.from(
    { length: rows },
    (_, row) =>
      `(${Array.from({ length: columns }, (_, column) => `$${row * columns + column + 1}`).join(', ')}${extra})`,
  ).join(', ')
}

/** All demo data: the items/tenants data set and the articles app. Idempotent. */
export async function seedDemo(pool: Pool, options: SeedOptions = {}): Promise<SeedCounts> {
  const items = await seedItemsDemo(pool, options)
  const articles = await seedArticlesDemo(pool, options)
  return { ...items, ...articles, tenants: items.tenants + articles.tenants }
}
