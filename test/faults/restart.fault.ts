import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoDatabase, type DemoDatabase } from './support/demo-database.ts'
import { itemTargets, runLoad, summary } from './support/load.ts'
import { KillablePostgres, postgresAvailable, PG_BIN } from './support/postgres.ts'
import { DemoServer } from './support/server.ts'

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

async function status(url: string): Promise<{ status: number; retryAfter: string | null; code?: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  const body = (await response.json()) as { code?: string }
  return { status: response.status, retryAfter: response.headers.get('retry-after'), code: body.code }
}

describe.skipIf(!postgresAvailable())(
  `PostgreSQL killed (-m immediate) and restarted under load (${PG_BIN})`,
  () => {
    let postgres: KillablePostgres
    let db: DemoDatabase
    let server: DemoServer

    beforeAll(async () => {
      postgres = await KillablePostgres.create()
      db = await createDemoDatabase({ adminUrl: postgres.adminUrl, port: postgres.port, tenantCount: 100 })
      server = await DemoServer.start({
        DATABASE_URL: db.ownerUrl,
        APP_DATABASE_URL: db.appUrl,
        ROWFENCE_JWT_SECRET: db.jwtSecret,
        ROWFENCE_CONTEXT_KEY: db.contextKey,
        PG_POOL_SIZE: '10',
        PG_CONNECT_TIMEOUT_MS: '1000',
      })
    })
    afterAll(async () => {
      await server?.stop()
      await postgres?.destroy()
    })

    it('answers 503 + Retry-After while down, recovers within 5 s, never serves a foreign row, drains on SIGTERM', async () => {
      let stopping = false
      const load = runLoad({
        url: server.url,
        targets: itemTargets(db.tenants),
        concurrency: 16,
        stop: () => stopping,
        timeoutMs: 15_000,
        recordSamples: true,
      })
      await sleep(2000)
      await postgres.kill()
      await sleep(1000)
      const duringOutage = {
        health: await status(`${server.url}/healthz`),
        ready: await status(`${server.url}/readyz`),
      }
      await sleep(2000)
      await postgres.start()
      const upAt = Date.now()
      await sleep(7000)
      const afterRecovery = await status(`${server.url}/readyz`)
      stopping = true
      const result = await load

      expect(server.running, server.output).toBe(true)
      expect(duringOutage.health.status).toBe(200)
      expect(duringOutage.ready).toMatchObject({ status: 503, retryAfter: '1' })
      expect(duringOutage.ready.code).toMatch(/^ROWFENCE_DATABASE_(UNAVAILABLE|BUSY)$/)
      expect(afterRecovery.status).toBe(200)

      const report = JSON.stringify(summary(result))
      expect(result.foreign, report).toBe(0)
      expect(result.empty, report).toBe(0)
      expect(result.networkErrors, report).toEqual({})
      expect(Object.keys(result.statuses).sort(), report).toEqual(['200', '503'])
      for (const code of Object.keys(result.codes)) {
        expect([
          'ROWFENCE_DATABASE_UNAVAILABLE',
          'ROWFENCE_DATABASE_BUSY',
          'ROWFENCE_COMMIT_UNKNOWN',
        ]).toContain(code)
      }
      expect(result.missingRetryAfter, report).toBe(0)
      expect(result.maxLatencyMs, report).toBeLessThan(10_000)
      // Recovery: every request that started 5 s after PostgreSQL accepted connections again succeeded.
      const late = result.samples.filter((sample) => sample.startedAt >= upAt + 5000)
      expect(late.length).toBeGreaterThan(50)
      expect(
        late.filter((sample) => sample.status !== 200),
        report,
      ).toEqual([])
      const firstOk = result.samples.find((sample) => sample.startedAt >= upAt && sample.status === 200)
      console.log(
        `restart: ${report}; first 200 ${firstOk ? firstOk.endedAt - upAt : '-'} ms after PostgreSQL was back`,
      )

      // SIGTERM drains: exit 0.
      const exit = await server.stop()
      expect(exit, server.output).toEqual({ code: 0, signal: null })
    })
  },
)
