import type { PostgresCpu } from '../cpu.ts'
import type { DatasetShape, BenchTenant } from '../dataset.ts'
import type { LoadGenerator, LoadResult } from '../load/load-types.ts'
import type { BenchOptions } from '../options.ts'

/** What every phase needs. */
export interface BenchContext {
  readonly options: BenchOptions
  readonly load: LoadGenerator
  readonly shape: DatasetShape
  /** The tenants the HTTP and library scenarios rotate through. */
  readonly hotTenants: readonly BenchTenant[]
  readonly tokens: ReadonlyMap<string, string>
  readonly appUrl: string
  readonly jwtSecret: string
  /** CPU of the PostgreSQL backends (empty samples when PostgreSQL is not on this machine). */
  readonly postgresCpu: PostgresCpu
  log(line: string): void
}

/** How long (or how many requests) one measurement takes under the current options. */
export function measureFor(
  options: BenchOptions,
  seconds: number,
): { seconds: number; totalRequests: number | undefined } {
  return { seconds, totalRequests: options.load === 'node' ? options.requests : undefined }
}

/** CPU time per request, in microseconds, of the parts that run on this machine. */
export interface CpuPerRequest {
  /** The server processes (HTTP phases) or this process (library phase). */
  readonly appUs: number | undefined
  readonly postgresUs: number | undefined
}

export function describeResult(result: LoadResult): string {
  const errors = result.errors > 0 ? `  ERRORS ${result.errors} (non-2xx ${result.non2xx})` : ''
  return (
    `${result.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${result.latency.p50.toFixed(2)} ms` +
    `  p99 ${result.latency.p99.toFixed(2)} ms  (${result.requests} requests)${errors}`
  )
}

export function describeCpu(cpu: CpuPerRequest): string {
  const us = (value: number | undefined) => (value === undefined ? '?' : value.toFixed(0))
  return `  CPU/req app ${us(cpu.appUs)} µs, PostgreSQL ${us(cpu.postgresUs)} µs`
}
