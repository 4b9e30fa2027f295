/// <reference lib="dom" />
import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { articlesDemo, DEMO_OPERATOR, DEMO_PASSWORD } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { buildTestApp } from './support.ts'

// Debian's chromium (installed by .ci/run); Playwright never downloads a browser here.
const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

const [alpha] = articlesDemo as [(typeof articlesDemo)[number]]

let db: TestDatabase
let app: FastifyInstance
let browser: Browser
let base: string

beforeAll(async () => {
  if (!existsSync(executablePath))
    throw new Error(`Chromium not found at ${executablePath}: apt-get install chromium`)
  db = await createTestDatabase()
  app = await buildTestApp(db.pool('app'), { authPool: db.pool('auth'), adminPool: db.pool('operator') })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
})
afterAll(async () => {
  await browser?.close()
  await app?.close()
  await db?.drop()
})

async function loginAs(tenant: string, user: string, password = DEMO_PASSWORD): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${base}/login`)
  await page.getByLabel('Tenant').fill(tenant)
  await page.getByLabel('User').fill(user)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Log in' }).click()
  return page
}

const articleRow = (page: Page, title: string) => page.locator(`tr[data-article="${title}"]`)

describe('in Chromium', () => {
  it('alpha-0 sees only alpha, and creates, edits and deletes an own article', async () => {
    const page = await loginAs('alpha', 'alpha-0')
    await expect.poll(() => page.getByTestId('tenant-name').textContent()).toBe('alpha')
    const body = await page.locator('main').innerText()
    expect(body).not.toMatch(/bravo|charlie/)
    expect(await page.getByTestId('article-count').textContent()).toBe('6')
    expect(await page.getByTestId('db-context').textContent()).toContain(`tenant ${alpha.id}`)

    const form = page.getByTestId('new-article')
    await form.getByLabel('Title').fill('Browser article')
    await form.getByLabel('Body').fill('Written in Chromium')
    await form.getByLabel('Pages').fill('7')
    await form.getByRole('button', { name: 'Create' }).click()
    await expect.poll(() => articleRow(page, 'Browser article').count()).toBe(1)
    expect(await page.getByTestId('article-count').textContent()).toBe('7')

    await articleRow(page, 'Browser article').getByTestId('edit').click()
    await page.getByLabel('Title').fill('Browser article, edited')
    await page.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => articleRow(page, 'Browser article, edited').count()).toBe(1)

    await articleRow(page, 'Browser article, edited').getByTestId('delete').click()
    await expect.poll(() => page.getByTestId('article-count').textContent()).toBe('6')
    expect(await articleRow(page, 'Browser article, edited').count()).toBe(0)
  })

  it("has no edit control on alpha-1's article, and a forged POST for it fails", async () => {
    const page = await loginAs('alpha', 'alpha-0')
    const colleague = alpha.users[1]!.articles[0]!
    const row = articleRow(page, colleague.title)
    await expect.poll(() => row.count()).toBe(1)
    expect(await row.getByTestId('edit').count()).toBe(0)
    expect(await row.getByTestId('delete').count()).toBe(0)

    // Forge the delete form the page does not offer, with a valid CSRF token from this page.
    await page.evaluate((id) => {
      const token = (document.querySelector('input[name="_csrf"]') as HTMLInputElement).value
      const forged = document.createElement('form')
      forged.method = 'post'
      forged.action = `/articles/${id}/delete`
      forged.innerHTML = `<input type="hidden" name="_csrf" value="${token}">`
      document.body.append(forged)
      forged.submit()
    }, colleague.id)
    await expect.poll(() => page.locator('[data-code]').getAttribute('data-code')).toBe('ROWFENCE_FORBIDDEN')
    const { rowCount } = await db.pool('admin').query('SELECT 1 FROM articles WHERE id = $1', [colleague.id])
    expect(rowCount).toBe(1)
  })

  it('bravo-0 sees none of alpha', async () => {
    const page = await loginAs('bravo', 'bravo-0')
    await expect.poll(() => page.getByTestId('tenant-name').textContent()).toBe('bravo')
    expect(await page.locator('main').innerText()).not.toMatch(/alpha/)
  })

  it('a wrong password shows an error and no session', async () => {
    const page = await loginAs('alpha', 'alpha-0', 'not the password')
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong tenant, user or password')
    expect(page.url()).toBe(`${base}/login`)
    await page.goto(`${base}/`)
    expect(page.url()).toBe(`${base}/login`)
  })

  it('the operator sees all three tenants, and the audit page shows the visit', async () => {
    const page = await (await browser.newContext()).newPage()
    await page.goto(`${base}/admin/login`)
    await page.getByLabel('Operator').fill(DEMO_OPERATOR.name)
    await page.getByLabel('Password').fill(DEMO_OPERATOR.password)
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect.poll(() => page.locator('section[data-tenant]').count()).toBeGreaterThanOrEqual(3)
    for (const tenant of articlesDemo)
      expect(await page.locator(`section[data-tenant="${tenant.name}"]`).count()).toBe(1)
    await page.getByRole('link', { name: 'Audit log' }).click()
    await expect.poll(() => page.getByTestId('audit').innerText()).toContain('GET /admin')
    expect(await page.getByTestId('audit').innerText()).toContain(DEMO_OPERATOR.name)
  })
})
