import pg from 'pg'
import { startDelayProxy } from '../delay-proxy.ts'
import { freePort } from '../database.ts'
import { pairedLatency, type LatencySummary } from '../load/paired-latency.ts'
import { requestsFor, SCENARIOS, type Scenario } from '../scenarios.ts'
import { startServerGroup } from '../server/server-group.ts'
import { median, spreadOf, type Spread } from '../stats.ts'
import { measureFor, type BenchContext } from './bench-context.ts'

export interface LatencyPhaseResult {
  readonly delayMs: number
  /** 2 × delayMs. */
  readonly nominalRoundTripMs: number
  /** p50 of `SELECT 1` through the proxy: what one protocol round trip really costs, the unit. */
  readonly roundTripMs: number
  readonly directRoundTripMs: number
  /** One summary per round. */
  readonly results: Record<Scenario, readonly LatencySummary[]>
  /** p50 in round trips (p50 / roundTripMs), one per round. */
  readonly roundTrips: Record<Scenario, Spread>
}

async function selectOneP50(url: string, times: number): Promise<number> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    const samples: number[] = []
    for (let i = 0; i < times; i++) {
      const started = performance.now()
      await client.query('SELECT 1')
      samples.push(performance.now() - started)
    }
    return median(samples)
  } finally {
    await client.end()
  }
}

/**
 * One server process whose pool reaches PostgreSQL through the delay proxy (2.5 ms each way); one
 * connection sends one request at a time, the three scenarios alternating, so each one's p50 is
 * dominated by its round trips. The unit is the round trip the proxy really delivers (`SELECT 1`
 * through it), measured before and after.
 */
export async function runLatencyPhase(context: BenchContext): Promise<LatencyPhaseResult> {
  const { options, log } = context
  const target = new URL(context.appUrl)
  const proxy = await startDelayProxy({
    targetHost: target.hostname,
    targetPort: Number(target.port || 5432),
    delayMs: options.delayMs,
  })
  try {
    const proxiedUrl = proxy.rewrite(context.appUrl)
    const before = await selectOneP50(proxiedUrl, 100)
    const directRoundTripMs = await selectOneP50(context.appUrl, 500)
    const servers = await startServerGroup({
      appUrl: proxiedUrl,
      poolSize: 8,
      jwtSecret: context.jwtSecret,
      port: await freePort(),
      workers: 1,
    })
    const rounds: Record<Scenario, LatencySummary>[] = []
    try {
      const variants = Object.fromEntries(
        SCENARIOS.map((s) => [s, requestsFor(s, context.hotTenants, context.tokens, options.pageSize)]),
      ) as Record<Scenario, ReturnType<typeof requestsFor>>
      // A fresh process: open the pool's connections (each handshake crosses the proxy), prepare the
      // statements and let the JIT compile the hot paths, or the first rounds measure cold code.
      for (const scenario of SCENARIOS) {
        await context.load.run({
          origin: servers.origin,
          requests: variants[scenario],
          connections: 16,
          ...measureFor(options, options.warmupSeconds || 1),
        })
      }
      for (let round = 1; round <= options.rounds; round++) {
        const result = await pairedLatency(servers.origin, variants, {
          seconds: options.latencySeconds,
          cycles: options.requests,
        })
        rounds.push(result)
        log(
          `latency round ${round}/${options.rounds}: p50 ` +
            SCENARIOS.map((s) => `${s} ${result[s].p50.toFixed(2)} ms`).join(', ') +
            ` (${result.rowfence.requests} each)`,
        )
      }
    } finally {
      await servers.stop()
    }
    const after = await selectOneP50(proxiedUrl, 100)
    const roundTripMs = (before + after) / 2
    log(
      `delay proxy: ${options.delayMs} ms each way; SELECT 1 p50 ${before.toFixed(2)}/${after.toFixed(2)} ms ` +
        `through it (before/after), ${directRoundTripMs.toFixed(3)} ms direct`,
    )
    const results = Object.fromEntries(SCENARIOS.map((s) => [s, rounds.map((r) => r[s])])) as Record<
      Scenario,
      LatencySummary[]
    >
    const roundTrips = Object.fromEntries(
      SCENARIOS.map((s) => [s, spreadOf(results[s].map((r) => r.p50 / roundTripMs))]),
    ) as Record<Scenario, Spread>
    return {
      delayMs: options.delayMs,
      nominalRoundTripMs: 2 * options.delayMs,
      roundTripMs,
      directRoundTripMs,
      results,
      roundTrips,
    }
  } finally {
    await proxy.close()
  }
}
