/** One request a load generator may send: a path and its Authorization header (one token per tenant). */
export interface RequestTemplate {
  readonly path: string
  readonly authorization: string
}

export interface LoadSpec {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** Sent round-robin, so the load spreads over every tenant in the list. */
  readonly requests: readonly RequestTemplate[]
  readonly connections: number
  /** Run for this long ... */
  readonly seconds?: number | undefined
  /** ... or until this many responses (the built-in generator only). */
  readonly totalRequests?: number | undefined
}

/** What one measurement produced. Latencies are in milliseconds. */
export interface LoadResult {
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly latency: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
  /** Connect, read, write and timeout errors, and responses with a status other than 2xx. */
  readonly errors: number
  readonly non2xx: number
}

export interface LoadGenerator {
  readonly name: string
  /** A version string for the report. */
  readonly version: string
  run(spec: LoadSpec): Promise<LoadResult>
}
