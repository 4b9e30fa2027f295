import { cpuBetween } from '../cpu.ts'
import type { LoadResult } from '../load/load-types.ts'
import { assertSameJson, requestsFor, rotate, SCENARIOS, type Scenario } from '../scenarios.ts'
import type { ServerGroup } from '../server/server-group.ts'
import { spreadOf, type Spread } from '../stats.ts'
import {
  describeCpu,
  describeResult,
  measureFor,
  type BenchContext,
  type CpuPerRequest,
} from './bench-context.ts'

export interface HttpMeasurement {
  readonly round: number
  readonly concurrency: number
  readonly scenario: Scenario
  readonly result: LoadResult
  readonly cpu: CpuPerRequest
}

/** Per concurrency: each scenario against baseline, one ratio per round. */
export interface HttpRatios {
  readonly concurrency: number
  readonly throughput: Record<'rowfence' | 'naive', Spread>
  readonly p99: Record<'rowfence' | 'naive', Spread>
}

export interface HttpPhaseResult {
  readonly jsonChecked: number
  readonly measurements: readonly HttpMeasurement[]
  readonly ratios: readonly HttpRatios[]
}

export function httpRatios(
  measurements: readonly HttpMeasurement[],
  concurrency: readonly number[],
): HttpRatios[] {
  return concurrency.map((c) => {
    const rounds = [...new Set(measurements.map((m) => m.round))]
    const ratio = (scenario: 'rowfence' | 'naive', metric: (r: LoadResult) => number) =>
      spreadOf(
        rounds.flatMap((round) => {
          const find = (s: Scenario) =>
            measurements.find((m) => m.round === round && m.concurrency === c && m.scenario === s)
          const base = find('baseline')
          const other = find(scenario)
          if (!base || !other || metric(base.result) === 0) return []
          return [metric(other.result) / metric(base.result)]
        }),
      )
    return {
      concurrency: c,
      throughput: {
        rowfence: ratio('rowfence', (r) => r.requestsPerSecond),
        naive: ratio('naive', (r) => r.requestsPerSecond),
      },
      p99: { rowfence: ratio('rowfence', (r) => r.latency.p99), naive: ratio('naive', (r) => r.latency.p99) },
    }
  })
}

/**
 * The three scenarios at each concurrency, interleaved: every round runs every (concurrency, scenario)
 * pair back to back, the scenario order rotating from round to round, so each ratio compares runs taken
 * seconds apart on the same (noisy) machine.
 */
export async function runHttpPhase(context: BenchContext, servers: ServerGroup): Promise<HttpPhaseResult> {
  const { options, load, log } = context
  const jsonChecked = await assertSameJson(
    servers.origin,
    context.hotTenants.slice(0, 20),
    context.tokens,
    options.pageSize,
  )
  log(`same JSON from all three scenarios for ${jsonChecked} tenants`)
  const requests = Object.fromEntries(
    SCENARIOS.map((s) => [s, requestsFor(s, context.hotTenants, context.tokens, options.pageSize)]),
  ) as Record<Scenario, ReturnType<typeof requestsFor>>

  if (options.warmupSeconds > 0) {
    log(`warm-up: ${options.warmupSeconds}s per scenario`)
    for (const scenario of SCENARIOS) {
      await load.run({
        origin: servers.origin,
        requests: requests[scenario],
        connections: 50,
        seconds: options.warmupSeconds,
      })
    }
  }

  const measurements: HttpMeasurement[] = []
  for (let round = 1; round <= options.rounds; round++) {
    for (const [index, concurrency] of options.concurrency.entries()) {
      for (const scenario of rotate(SCENARIOS, round + index)) {
        const postgresBefore = await context.postgresCpu.sample()
        const appBefore = servers.cpuSeconds()
        const result = await load.run({
          origin: servers.origin,
          requests: requests[scenario],
          connections: concurrency,
          ...measureFor(options, options.seconds),
        })
        const appAfter = servers.cpuSeconds()
        const postgres = cpuBetween(postgresBefore, await context.postgresCpu.sample())
        const perRequest = (seconds: number | undefined) =>
          seconds === undefined || result.requests === 0 ? undefined : (seconds / result.requests) * 1e6
        const cpu = {
          appUs: perRequest(
            appBefore === undefined || appAfter === undefined ? undefined : appAfter - appBefore,
          ),
          postgresUs: perRequest(postgres),
        }
        measurements.push({ round, concurrency, scenario, result, cpu })
        log(
          `round ${round}/${options.rounds}  c=${String(concurrency).padEnd(4)} ${scenario.padEnd(8)} ${describeResult(result)}${describeCpu(cpu)}`,
        )
      }
    }
  }
  return { jsonChecked, measurements, ratios: httpRatios(measurements, options.concurrency) }
}
