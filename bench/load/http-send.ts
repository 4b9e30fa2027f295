import { request as httpRequest, type Agent } from 'node:http'
import type { RequestTemplate } from './load-types.ts'

/** One GET on a keep-alive agent; resolves with the status once the body has been read. */
export function sendRequest(agent: Agent, origin: URL, template: RequestTemplate): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: origin.hostname,
        port: origin.port,
        path: template.path,
        headers: { authorization: template.authorization },
        timeout: 10_000,
      },
      (res) => {
        res.resume()
        res.once('end', () => resolve(res.statusCode ?? 0))
        res.once('error', reject)
      },
    )
    req.once('timeout', () => req.destroy(new Error('request timed out')))
    req.once('error', reject)
    req.end()
  })
}
