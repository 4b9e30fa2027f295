import { scaleTenants, type BenchTenant } from '../dataset.ts'
import { pairedLatency, type LatencySummary } from '../load/paired-latency.ts'
import { requestsFor } from '../scenarios.ts'
import type { ServerGroup } from '../server/server-group.ts'
import { spreadOf, type Spread } from '../stats.ts'
import type { BenchContext } from './bench-context.ts'
import type { PlanCase } from './plan-check.ts'

export const SCALE_LIMIT = 50

export interface ScaleCase {
  readonly label: string
  readonly tenant: BenchTenant
  /** One summary per round. */
  readonly rowfence: readonly LatencySummary[]
  readonly baseline: readonly LatencySummary[]
  /** rowfence p50 / baseline p50, one per round. */
  readonly p50Ratio: Spread
}

export interface ScalePhaseResult {
  readonly limit: number
  readonly plans: readonly PlanCase[]
  readonly cases: readonly ScaleCase[]
}

/**
 * One tenant's `GET /items/?limit=50` against the same query with its explicit WHERE tenant_id on the
 * no-RLS copy, for the largest, the median and the smallest tenant: latency, one request at a time,
 * the two alternating on one connection so both see the same machine.
 */
export async function runScalePhase(
  context: BenchContext,
  servers: ServerGroup,
  plans: readonly PlanCase[],
): Promise<ScalePhaseResult> {
  const { options, log } = context
  const cases: ScaleCase[] = []
  for (const { label, tenant } of scaleTenants(context.shape)) {
    const variants = {
      rowfence: requestsFor('rowfence', [tenant], context.tokens, SCALE_LIMIT),
      baseline: requestsFor('baseline', [tenant], context.tokens, SCALE_LIMIT),
    }
    await pairedLatency(servers.origin, variants, { seconds: 1, cycles: 50 })
    const rounds: Record<'rowfence' | 'baseline', LatencySummary>[] = []
    for (let round = 1; round <= options.rounds; round++) {
      const result = await pairedLatency(servers.origin, variants, {
        seconds: options.scaleSeconds,
        cycles: options.requests,
      })
      rounds.push(result)
      log(
        `scale ${label} tenant (${tenant.items} items) round ${round}: p50 rowfence ${result.rowfence.p50.toFixed(3)} ms, ` +
          `baseline ${result.baseline.p50.toFixed(3)} ms (${result.rowfence.requests} each)`,
      )
    }
    cases.push({
      label,
      tenant,
      rowfence: rounds.map((r) => r.rowfence),
      baseline: rounds.map((r) => r.baseline),
      p50Ratio: spreadOf(rounds.map((r) => r.rowfence.p50 / r.baseline.p50)),
    })
  }
  return { limit: SCALE_LIMIT, plans, cases }
}
