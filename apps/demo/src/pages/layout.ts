import { html, type SafeHtml } from './html.ts'

export interface LayoutOptions {
  readonly title: string
  readonly body: SafeHtml
  /** Shown in the header with a logout button (which needs the CSRF token). */
  readonly signedIn?:
    { readonly label: string; readonly logoutAction: string; readonly csrfToken: string } | undefined
}

export function layout(options: LayoutOptions): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · rowfence demo</title>
        <link rel="stylesheet" href="/assets/app.css" />
      </head>
      <body>
        <header>
          <div class="bar">
            <a class="brand" href="/">rowfence demo</a>
            ${
              options.signedIn
                ? html`<span class="who" data-testid="signed-in">${options.signedIn.label}</span>
                    <form class="inline" method="post" action="${options.signedIn.logoutAction}">
                      <input type="hidden" name="_csrf" value="${options.signedIn.csrfToken}" />
                      <button class="link" type="submit">Log out</button>
                    </form>`
                : ''
            }
          </div>
        </header>
        <main>${options.body}</main>
      </body>
    </html> `.toString()
}

export function errorBanner(message: string | undefined): SafeHtml | '' {
  return message ? html`<p class="error" role="alert">${message}</p>` : ''
}

export const csrfField = (token: string): SafeHtml =>
  html`<input type="hidden" name="_csrf" value="${token}" />`
