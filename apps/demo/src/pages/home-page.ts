import { ARTICLE_LIMITS } from '../data/article-limits.ts'
import type { Article } from '../data/articles.ts'
import type { DatabaseContext, StorageReport, UserSummary } from '../data/tenant-overview.ts'
import { html } from './html.ts'
import { csrfField, errorBanner, layout } from './layout.ts'

export interface HomeData {
  readonly context: DatabaseContext
  readonly userName: string
  readonly users: readonly UserSummary[]
  readonly articles: readonly Article[]
  readonly storage: StorageReport
}

const bytes = (n: number): string => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`)

function articleRow(article: Article, own: boolean, csrfToken: string) {
  return html`<tr data-article="${article.title}">
    <td>${article.title}</td>
    <td>${article.author}</td>
    <td>${article.pages}</td>
    <td>${article.body}</td>
    <td>
      ${
        own
          ? html`<div class="actions">
              <a href="/articles/${article.id}/edit" data-testid="edit">Edit</a>
              <form class="inline" method="post" action="/articles/${article.id}/delete">
                ${csrfField(csrfToken)}<button class="link" type="submit" data-testid="delete">Delete</button>
              </form>
            </div>`
          : html`<span class="muted">read only</span>`
      }
    </td>
  </tr>`
}

export function homePage(data: HomeData, options: { csrfToken: string; error?: string }): string {
  const userId = data.context.user_id
  const pageSum = data.articles.reduce((sum, article) => sum + article.pages, 0)
  return layout({
    title: data.context.tenant_name ?? 'Home',
    signedIn: {
      label: `${data.userName} @ ${data.context.tenant_name ?? ''}`,
      logoutAction: '/logout',
      csrfToken: options.csrfToken,
    },
    body: html`<h1 data-testid="tenant-name">${data.context.tenant_name}</h1>
      ${errorBanner(options.error)}
      <div class="stats">
        <div class="stat"><b data-testid="user-count">${data.users.length}</b><span>users</span></div>
        <div class="stat">
          <b data-testid="article-count">${data.articles.length}</b><span>articles</span>
        </div>
        <div class="stat"><b data-testid="page-sum">${pageSum}</b><span>pages</span></div>
        <div class="stat">
          <b data-testid="storage-total">${bytes(data.storage.total.bytes)}</b
          ><span>storage, ${data.storage.total.rows} rows</span>
        </div>
      </div>

      <h2>Context as the database sees it</h2>
      <div class="card">
        <code data-testid="db-context"
          >tenant ${data.context.tenant_id} · user ${data.context.user_id ?? 'none'} · role
          ${data.context.role}</code
        >
        <p class="muted">Set transaction-locally for this request only; every query below ran under it.</p>
      </div>

      <h2>Storage</h2>
      <table>
        <thead>
          <tr>
            <th>table</th>
            <th>rows</th>
            <th>bytes</th>
          </tr>
        </thead>
        <tbody>
          ${data.storage.tables.map(
            (row) =>
              html`<tr>
                <td>${row.table}</td>
                <td>${row.rows}</td>
                <td>${row.bytes}</td>
              </tr>`,
          )}
          <tr>
            <td><b>total</b></td>
            <td><b>${data.storage.total.rows}</b></td>
            <td><b>${data.storage.total.bytes}</b></td>
          </tr>
        </tbody>
      </table>

      <h2>Users</h2>
      <table>
        <thead>
          <tr>
            <th>user</th>
            <th>articles</th>
            <th>pages</th>
            <th>titles</th>
          </tr>
        </thead>
        <tbody>
          ${data.users.map(
            (user) =>
              html`<tr>
                <td>${user.name}</td>
                <td>${user.article_count}</td>
                <td>${user.page_sum}</td>
                <td>${user.article_titles.join(', ')}</td>
              </tr>`,
          )}
        </tbody>
      </table>

      <h2>Articles</h2>
      <table data-testid="articles">
        <thead>
          <tr>
            <th>title</th>
            <th>author</th>
            <th>pages</th>
            <th>body</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${data.articles.map((article) => articleRow(article, article.user_id === userId, options.csrfToken))}
        </tbody>
      </table>

      <h2>New article</h2>
      <form class="stack card" method="post" action="/articles" data-testid="new-article">
        ${csrfField(options.csrfToken)}
        <label>Title <input name="title" required maxlength="${ARTICLE_LIMITS.title.max}" /></label>
        <label>Body <textarea name="body" maxlength="${ARTICLE_LIMITS.body.max}"></textarea></label>
        <label
          >Pages
          <input
            name="pages"
            type="number"
            min="${ARTICLE_LIMITS.pages.min}"
            max="${ARTICLE_LIMITS.pages.max}"
            value="0"
        /></label>
        <div class="actions"><button type="submit">Create</button></div>
      </form>`,
  })
}

export function editArticlePage(
  article: Article,
  options: { csrfToken: string; signedInLabel: string; error?: string },
): string {
  return layout({
    title: `Edit ${article.title}`,
    signedIn: { label: options.signedInLabel, logoutAction: '/logout', csrfToken: options.csrfToken },
    body: html`<h1>Edit article</h1>
      ${errorBanner(options.error)}
      <form class="stack card" method="post" action="/articles/${article.id}">
        ${csrfField(options.csrfToken)}
        <label
          >Title
          <input name="title" required maxlength="${ARTICLE_LIMITS.title.max}" value="${article.title}"
        /></label>
        <label
          >Body <textarea name="body" maxlength="${ARTICLE_LIMITS.body.max}">${article.body}</textarea>
        </label>
        <label
          >Pages
          <input
            name="pages"
            type="number"
            min="${ARTICLE_LIMITS.pages.min}"
            max="${ARTICLE_LIMITS.pages.max}"
            value="${article.pages}"
        /></label>
        <div class="actions"><button type="submit">Save</button><a href="/">Cancel</a></div>
      </form>`,
  })
}
