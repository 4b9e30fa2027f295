import type { SignedHttpResult } from './phases/signed-http.ts'
import type { HttpPhaseResult } from './phases/http.ts'
import type { LatencyPhaseResult } from './phases/latency.ts'
import type { LibraryPhaseResult } from './phases/library.ts'
import type { MemoryPhaseResult } from './phases/memory.ts'
import type { OrmPhaseResult } from './phases/orm.ts'
import type { PlanRegressionResult } from './phases/plan-regression.ts'
import type { ScalePhaseResult } from './phases/scale.ts'
import type { BenchOptions } from './options.ts'
import type { MachineInfo } from './report/machine.ts'

export interface TargetResult {
  readonly name: string
  readonly target: string
  readonly measured: string
  /** undefined: not measured in this run (e.g. a concurrency the options left out). */
  readonly met: boolean | undefined
}

/** Everything one run measured: results.json, and what RESULTS.md and the chart are rendered from. */
export interface BenchResults {
  readonly startedAt: string
  readonly seconds: number
  readonly command: string
  readonly machine: MachineInfo
  readonly loadAverageAtEnd: number
  readonly loadGenerator: { readonly name: string; readonly version: string }
  readonly options: BenchOptions
  readonly database: { readonly embedded: boolean; readonly settings: Readonly<Record<string, string>> }
  readonly dataset: {
    readonly tenants: number
    readonly items: number
    readonly largest: number
    readonly median: number
    readonly smallest: number
    readonly outcome: 'loaded' | 'reused'
    readonly loadSeconds: number
  }
  readonly http: HttpPhaseResult
  readonly scale: ScalePhaseResult
  readonly planRegression: PlanRegressionResult
  readonly memory: MemoryPhaseResult
  readonly library: LibraryPhaseResult
  readonly latency: LatencyPhaseResult
  readonly orm: OrmPhaseResult
  /** The demo's default (the signed context) over HTTP, measured last; skipped on a DATABASE_URL. */
  readonly signedHttp: SignedHttpResult
  readonly targets: readonly TargetResult[]
}
