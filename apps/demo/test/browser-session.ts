import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

/** A cookie jar over fastify.inject, for testing the pages the way a browser without JavaScript uses them. */
export class InjectSession {
  readonly cookies = new Map<string, string>()
  constructor(
    readonly app: FastifyInstance,
    /** The client address the requests come from (per-address login limits). */
    readonly remoteAddress = '127.0.0.1',
  ) {}

  #store(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.expires && cookie.expires.getTime() < Date.now()))
        this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      url,
      remoteAddress: this.remoteAddress,
      headers: { cookie: this.cookieHeader },
    })
    this.#store(response)
    return response
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: 'POST',
      url,
      remoteAddress: this.remoteAddress,
      headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    })
    this.#store(response)
    return response
  }

  /** The CSRF token of the first form on a page. */
  static csrfOf(response: LightMyRequestResponse): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(response.body)
    if (!match?.[1]) throw new Error(`no CSRF token on the page (status ${response.statusCode})`)
    return match[1]
  }

  async login(tenant: string, user: string, password: string): Promise<LightMyRequestResponse> {
    const page = await this.get('/login')
    return this.post('/login', { _csrf: InjectSession.csrfOf(page), tenant, user, password })
  }
}
