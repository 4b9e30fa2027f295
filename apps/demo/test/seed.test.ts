import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { articlesDemo, itemsDemo, seedDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => db.drop())

describe('seedDemo', () => {
  it('is idempotent: a second run on a seeded database inserts nothing', async () => {
    // The template database was seeded by the test setup already.
    await expect(seedDemo(db.pool('owner'))).resolves.toEqual({
      tenants: 0,
      items: 0,
      users: 0,
      articles: 0,
      operators: 0,
    })
  })

  it('holds exactly the fixture and the articles data set', async () => {
    const superuser = db.pool('admin')
    const items = await superuser.query('SELECT id, title, tenant_id FROM items ORDER BY id')
    expect(items.rows).toEqual([...itemsDemo.items].sort((a, b) => (a.id < b.id ? -1 : 1)))
    const articles = await superuser.query<{ title: string; body: string; pages: number; author: string }>(
      `SELECT a.title, a.body, a.pages, u.name AS author
         FROM articles a JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id ORDER BY a.title`,
    )
    expect(articles.rows).toHaveLength(18)
    for (const tenant of articlesDemo) {
      for (const user of tenant.users) {
        for (const m of [0, 1]) {
          const n = user.name.split('-')[1]
          expect(articles.rows).toContainEqual({
            title: `${tenant.name} ${n}-${m}`,
            body: 'The quick brown fox jumps over the lazy dog.',
            pages: 10,
            author: user.name,
          })
        }
      }
    }
  })
})
