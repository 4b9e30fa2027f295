import { Agent } from 'node:http'
import { percentile } from '../stats.ts'
import { sendRequest } from './http-send.ts'
import type { LoadGenerator, LoadResult, LoadSpec } from './load-types.ts'

/**
 * A small closed-loop HTTP load generator: `connections` keep-alive connections, each sending its next
 * request as soon as the previous response has been read. Used by the smoke test (and `--load node`)
 * so the harness runs without wrk; it shares a core with whatever else this process does, so its
 * figures are for checking the plumbing, not for publishing.
 */
export function nodeGenerator(): LoadGenerator {
  return { name: 'built-in (node:http)', version: process.versions.node, run: runNodeLoad }
}

async function runNodeLoad(spec: LoadSpec): Promise<LoadResult> {
  if (!spec.seconds && !spec.totalRequests) throw new Error('give `seconds` or `totalRequests`')
  const origin = new URL(spec.origin)
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections })
  const latencies: number[] = []
  let errors = 0
  let non2xx = 0
  let next = 0
  const started = performance.now()
  const deadline = spec.seconds ? started + spec.seconds * 1000 : Number.POSITIVE_INFINITY
  const limit = spec.totalRequests ?? Number.POSITIVE_INFINITY
  async function connectionLoop(): Promise<void> {
    while (next < limit && performance.now() < deadline) {
      const template = spec.requests[next++ % spec.requests.length]!
      const sent = performance.now()
      try {
        const status = await sendRequest(agent, origin, template)
        latencies.push(performance.now() - sent)
        if (status < 200 || status > 299) {
          non2xx += 1
          errors += 1
        }
      } catch {
        errors += 1
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: spec.connections }, connectionLoop))
  } finally {
    agent.destroy()
  }
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    requests: latencies.length,
    seconds,
    requestsPerSecond: latencies.length / seconds,
    latency: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
    },
    errors,
    non2xx,
  }
}
