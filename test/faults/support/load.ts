import { Agent, request } from 'node:http'

/** One kind of request a load run sends, with the check its 200 body must pass. */
export interface LoadTarget {
  readonly path: string
  readonly token: string
  /** 'foreign': the body holds another tenant's data; 'empty': it lacks the caller's own data. */
  verify(body: unknown): 'ok' | 'foreign' | 'empty'
}

export interface LoadSample {
  readonly startedAt: number
  readonly endedAt: number
  /** HTTP status, or 0 for a network error or timeout. */
  readonly status: number
}

export interface LoadResult {
  requests: number
  ok: number
  foreign: number
  empty: number
  statuses: Record<string, number>
  /** `code` of every non-200 response body, counted. */
  codes: Record<string, number>
  /** 503 responses without a Retry-After header. */
  missingRetryAfter: number
  networkErrors: Record<string, number>
  maxLatencyMs: number
  durationMs: number
  samples: LoadSample[]
}

/** GET /items/ as each tenant: every row must carry the caller's tenant id, and there must be rows. */
export function itemTargets(tenants: readonly { id: string; token: string }[]): LoadTarget[] {
  return tenants.map((tenant) => ({
    path: '/items/',
    token: tenant.token,
    verify(body) {
      if (!Array.isArray(body)) return 'empty'
      if (body.some((row: { tenant_id?: unknown }) => row.tenant_id !== tenant.id)) return 'foreign'
      return body.length > 0 ? 'ok' : 'empty'
    },
  }))
}

interface Response {
  status: number
  retryAfter: string | undefined
  body: string
}

function send(agent: Agent, base: URL, target: LoadTarget, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        path: target.path,
        headers: { authorization: `Bearer ${target.token}` },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error('request timed out'), { code: 'TIMEOUT' })),
    )
    req.on('error', reject)
    req.end()
  })
}

/**
 * Drives the server with `concurrency` keep-alive connections, cycling through the targets, until
 * `requests` were sent or `stop()` returns true. Never throws for a failed request: it counts it.
 */
export async function runLoad(options: {
  url: string
  targets: readonly LoadTarget[]
  concurrency: number
  requests?: number
  stop?: () => boolean
  timeoutMs?: number
  recordSamples?: boolean
  onProgress?: (done: number) => void
}): Promise<LoadResult> {
  const base = new URL(options.url)
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
  const result: LoadResult = {
    requests: 0,
    ok: 0,
    foreign: 0,
    empty: 0,
    statuses: {},
    codes: {},
    missingRetryAfter: 0,
    networkErrors: {},
    maxLatencyMs: 0,
    durationMs: 0,
    samples: [],
  }
  const limit = options.requests ?? Number.POSITIVE_INFINITY
  let issued = 0
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (issued < limit && !(options.stop?.() ?? false)) {
      const target = options.targets[issued % options.targets.length]!
      issued += 1
      const startedAt = Date.now()
      let status = 0
      try {
        const response = await send(agent, base, target, options.timeoutMs ?? 15_000)
        status = response.status
        result.statuses[status] = (result.statuses[status] ?? 0) + 1
        if (status === 200) {
          const verdict = target.verify(JSON.parse(response.body))
          if (verdict === 'ok') result.ok += 1
          else result[verdict] += 1
        } else {
          let code = 'unknown'
          try {
            code = String((JSON.parse(response.body) as { code?: unknown }).code)
          } catch {
            code = 'not-json'
          }
          result.codes[code] = (result.codes[code] ?? 0) + 1
          if (status === 503 && !response.retryAfter) result.missingRetryAfter += 1
        }
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? (error as Error).message)
        result.networkErrors[code] = (result.networkErrors[code] ?? 0) + 1
      }
      const endedAt = Date.now()
      result.requests += 1
      result.maxLatencyMs = Math.max(result.maxLatencyMs, endedAt - startedAt)
      if (options.recordSamples) result.samples.push({ startedAt, endedAt, status })
      if (options.onProgress && result.requests % 10_000 === 0) options.onProgress(result.requests)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  result.durationMs = performance.now() - started
  agent.destroy()
  return result
}

/** A compact summary for failure messages and reports (no samples). */
export function summary(result: LoadResult): Omit<LoadResult, 'samples'> & { perSecond: number } {
  const rest: Partial<LoadResult> = { ...result }
  delete rest.samples
  return {
    ...(rest as Omit<LoadResult, 'samples'>),
    perSecond: Math.round((result.requests / result.durationMs) * 1000),
  }
}
