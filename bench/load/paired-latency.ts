import { Agent } from 'node:http'
import { percentile } from '../stats.ts'
import { sendRequest } from './http-send.ts'
import type { RequestTemplate } from './load-types.ts'

export interface LatencySummary {
  readonly requests: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly errors: number
}

/**
 * Latency of several variants measured side by side: ONE keep-alive connection sends one request of
 * each variant in turn (A, B, C, B, C, A, ...: the order rotates each cycle), so every variant sees the
 * same moments of the machine's noise. The right design for "p50 of X against p50 of Y" on a shared
 * machine; throughput comparisons use wrk instead.
 */
export async function pairedLatency<K extends string>(
  origin: string,
  variants: Readonly<Record<K, readonly RequestTemplate[]>>,
  limit: { seconds: number; cycles?: number | undefined },
): Promise<Record<K, LatencySummary>> {
  const url = new URL(origin)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const keys = Object.keys(variants) as K[]
  const samples = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>
  const errors = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>
  const deadline = performance.now() + limit.seconds * 1000
  try {
    for (let cycle = 0; performance.now() < deadline && cycle < (limit.cycles ?? Infinity); cycle++) {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(cycle + i) % keys.length]!
        const list = variants[key]
        const template = list[cycle % list.length]!
        const started = performance.now()
        try {
          const status = await sendRequest(agent, url, template)
          samples[key].push(performance.now() - started)
          if (status < 200 || status > 299) errors[key] += 1
        } catch {
          errors[key] += 1
        }
      }
    }
  } finally {
    agent.destroy()
  }
  return Object.fromEntries(
    keys.map((key) => {
      const sorted = samples[key].sort((a, b) => a - b)
      return [
        key,
        {
          requests: sorted.length,
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          errors: errors[key],
        },
      ]
    }),
  ) as Record<K, LatencySummary>
}
