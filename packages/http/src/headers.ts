import type { IncomingHttpHeaders } from 'node:http'

/**
 * A request whose headers can be read: Node's IncomingMessage (Express, Fastify, NestJS), or a Fetch API
 * Request (Hono: `c.req.raw`).
 */
export type HeaderSource =
  | { readonly headers: IncomingHttpHeaders | Readonly<Record<string, string | string[] | undefined>> }
  | { readonly headers: Headers }

/** One header's value; a header sent more than once (or a list) is refused as undefined-ambiguous. */
export function headerOf(request: HeaderSource, name: string): string | undefined {
  const { headers } = request
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined
  const value = (headers as Record<string, string | string[] | undefined>)[name.toLowerCase()]
  return typeof value === 'string' ? value : undefined
}
