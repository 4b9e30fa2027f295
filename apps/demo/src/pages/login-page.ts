import { html } from './html.ts'
import { csrfField, errorBanner, layout } from './layout.ts'

export function loginPage(options: {
  csrfToken: string
  error?: string
  tenant?: string
  user?: string
}): string {
  return layout({
    title: 'Log in',
    body: html`<h1>Log in</h1>
      ${errorBanner(options.error)}
      <form class="stack card" method="post" action="/login">
        ${csrfField(options.csrfToken)}
        <label
          >Tenant
          <input
            name="tenant"
            autocomplete="organization"
            required
            maxlength="200"
            value="${options.tenant ?? ''}"
        /></label>
        <label
          >User
          <input name="user" autocomplete="username" required maxlength="100" value="${options.user ?? ''}"
        /></label>
        <label
          >Password
          <input name="password" type="password" autocomplete="current-password" required maxlength="1024"
        /></label>
        <div class="actions">
          <button type="submit">Log in</button><a href="/admin/login">Platform operators</a>
        </div>
      </form>`,
  })
}

export function operatorLoginPage(options: { csrfToken: string; error?: string; name?: string }): string {
  return layout({
    title: 'Operator login',
    body: html`<h1>Platform operator login</h1>
      <p class="muted">
        Operators are not tenant users: they sign in here and are served by a separate, read-only database
        role.
      </p>
      ${errorBanner(options.error)}
      <form class="stack card" method="post" action="/admin/login">
        ${csrfField(options.csrfToken)}
        <label
          >Operator
          <input name="name" autocomplete="username" required maxlength="100" value="${options.name ?? ''}"
        /></label>
        <label
          >Password
          <input name="password" type="password" autocomplete="current-password" required maxlength="1024"
        /></label>
        <div class="actions"><button type="submit">Log in</button></div>
      </form>`,
  })
}

export function errorPage(options: { status: number; code: string; message: string }): string {
  return layout({
    title: `Error ${options.status}`,
    body: html`<h1>Error ${options.status}</h1>
      <p class="error" role="alert" data-code="${options.code}">${options.message}</p>
      <p><a href="/">Back</a></p>`,
  })
}
