import { html } from './html.ts'
import { layout } from './layout.ts'

export interface AdminTenant {
  id: string
  name: string
  users: { name: string; articles: { title: string; pages: number }[] }[]
}

export interface AuditEntry {
  id: string
  operator: string
  at: Date
  method: string
  route: string
  path: string
  tenants: string[]
}

interface Session {
  readonly operator: string
  readonly csrfToken: string
}

const signedIn = (session: Session) => ({
  label: `operator ${session.operator}`,
  logoutAction: '/admin/logout',
  csrfToken: session.csrfToken,
})

const nav = html`<p class="actions"><a href="/admin">Tenants</a><a href="/admin/audit">Audit log</a></p>`

export function adminPage(tenants: readonly AdminTenant[], session: Session): string {
  return layout({
    title: 'Admin',
    signedIn: signedIn(session),
    body: html`<h1>All tenants</h1>
      ${nav}
      <p class="muted">
        Read-only, through the rowfence_admin role's own policies. This visit is in the audit log.
      </p>
      ${tenants.map((tenant) => {
        const articles = tenant.users.flatMap((user) => user.articles)
        return html`<section class="card" data-tenant="${tenant.name}">
          <h2>${tenant.name}</h2>
          <p class="muted">
            <code>${tenant.id}</code> ·
            <span data-testid="counts"
              >${tenant.users.length} users · ${articles.length} articles ·
              ${articles.reduce((sum, article) => sum + article.pages, 0)} pages</span
            >
          </p>
          <table>
            <thead>
              <tr>
                <th>user</th>
                <th>articles</th>
                <th>pages</th>
              </tr>
            </thead>
            <tbody>
              ${tenant.users.map(
                (user) =>
                  html`<tr>
                    <td>${user.name}</td>
                    <td>${user.articles.map((article) => article.title).join(', ')}</td>
                    <td>${user.articles.reduce((sum, article) => sum + article.pages, 0)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </section>`
      })}`,
  })
}

export function auditPage(entries: readonly AuditEntry[], session: Session): string {
  return layout({
    title: 'Audit log',
    signedIn: signedIn(session),
    body: html`<h1>Audit log</h1>
      ${nav}
      <table data-testid="audit">
        <thead>
          <tr>
            <th>#</th>
            <th>time</th>
            <th>operator</th>
            <th>request</th>
            <th>route</th>
            <th>tenants touched</th>
          </tr>
        </thead>
        <tbody>
          ${entries.map(
            (entry) =>
              html`<tr>
                <td>${entry.id}</td>
                <td>${entry.at.toISOString()}</td>
                <td>${entry.operator}</td>
                <td><code>${entry.method} ${entry.path}</code></td>
                <td><code>${entry.route}</code></td>
                <td>${entry.tenants.length}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  })
}
