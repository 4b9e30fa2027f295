import type { LoadResult } from '../load/load-types.ts'
import { requestsFor } from '../scenarios.ts'
import type { ServerGroup } from '../server/server-group.ts'
import { median } from '../stats.ts'
import { describeResult, measureFor, type BenchContext } from './bench-context.ts'

export interface MemoryPhaseResult {
  readonly seconds: number
  readonly concurrency: number
  readonly workers: number
  /** All server processes together, in MiB. */
  readonly idleMiB: number | undefined
  readonly startMiB: number | undefined
  readonly endMiB: number | undefined
  readonly peakMiB: number | undefined
  readonly samples: readonly { readonly second: number; readonly mib: number }[]
  readonly result: LoadResult
}

const MiB = 1024 * 1024

/**
 * `GET /items/` (rowfence) at high concurrency for a fixed time while the primary samples the server
 * processes' RSS every second. "start" is the median of the samples from 10 % to 20 % into the run
 * (after the ramp-up, when all connections are open and the heap holds a full load's worth of requests)
 * and "end" the median of the last 10 %: growth between the two is what a leak would show. Medians,
 * so one garbage-collection spike decides neither.
 */
export async function runMemoryPhase(
  context: BenchContext,
  servers: ServerGroup,
): Promise<MemoryPhaseResult> {
  const { options, load, log } = context
  const idle = servers.rss()
  const samples: { second: number; mib: number }[] = []
  const started = performance.now()
  const timer = setInterval(() => {
    const rss = servers.rss()
    if (rss !== undefined) samples.push({ second: (performance.now() - started) / 1000, mib: rss / MiB })
  }, 1000)
  let result: LoadResult
  try {
    result = await load.run({
      origin: servers.origin,
      requests: requestsFor('rowfence', context.hotTenants, context.tokens, options.pageSize),
      connections: options.memoryConcurrency,
      ...measureFor(options, options.memorySeconds),
    })
  } finally {
    clearInterval(timer)
  }
  const last = servers.rss()
  if (last !== undefined) samples.push({ second: (performance.now() - started) / 1000, mib: last / MiB })
  const tenth = Math.max(1, Math.floor(samples.length / 10))
  const values = samples.map((s) => s.mib)
  const early = values.slice(tenth, 2 * tenth)
  const memory: MemoryPhaseResult = {
    seconds: options.memorySeconds,
    concurrency: options.memoryConcurrency,
    workers: servers.workers,
    idleMiB: idle === undefined ? undefined : idle / MiB,
    startMiB: values.length ? median(early.length ? early : values.slice(0, 1)) : undefined,
    endMiB: values.length ? median(values.slice(-tenth)) : undefined,
    peakMiB: values.length ? Math.max(...values) : undefined,
    samples,
    result,
  }
  log(
    `memory: c=${memory.concurrency} for ${memory.seconds}s ${describeResult(result)}; RSS ` +
      `idle ${memory.idleMiB?.toFixed(0)} MiB, start ${memory.startMiB?.toFixed(0)}, end ${memory.endMiB?.toFixed(0)}, peak ${memory.peakMiB?.toFixed(0)}`,
  )
  return memory
}
