import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { articlesDemo, signToken } from '@rowfence/demo'
import { CuttingProxy } from './support/cutting-proxy.ts'
import { createDemoDatabase, type DemoDatabase } from './support/demo-database.ts'
import { itemTargets, runLoad, summary, type LoadTarget } from './support/load.ts'
import { KillablePostgres, postgresAvailable, PG_BIN } from './support/postgres.ts'
import { DemoServer } from './support/server.ts'

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

/** GET /api/articles: a withTenant() transaction (BEGIN, context, query, COMMIT) per request. */
async function articleTargets(secret: string): Promise<LoadTarget[]> {
  return Promise.all(
    articlesDemo.map(async (tenant) => ({
      path: '/api/articles',
      token: await signToken({
        secret,
        tenantId: tenant.id,
        userId: tenant.users[0]!.id,
        subject: 'load',
        expiresIn: '1h',
      }),
      verify(body: unknown) {
        if (!Array.isArray(body)) return 'empty' as const
        if (body.some((row: { author?: string }) => !row.author?.startsWith(`${tenant.name}-`))) {
          return 'foreign' as const
        }
        return body.length > 0 ? ('ok' as const) : ('empty' as const)
      },
    })),
  )
}

describe.skipIf(!postgresAvailable())(`connections cut and corrupted by a proxy (${PG_BIN})`, () => {
  let postgres: KillablePostgres
  let db: DemoDatabase
  let proxy: CuttingProxy
  let server: DemoServer

  beforeAll(async () => {
    postgres = await KillablePostgres.create()
    db = await createDemoDatabase({ adminUrl: postgres.adminUrl, port: postgres.port, tenantCount: 100 })
    proxy = await CuttingProxy.start({ host: '127.0.0.1', port: postgres.port })
    server = await DemoServer.start({
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: proxy.rewrite(db.appUrl),
      ROWFENCE_JWT_SECRET: db.jwtSecret,
      ROWFENCE_CONTEXT_KEY: db.contextKey,
      PG_POOL_SIZE: '8',
      PG_CONNECT_TIMEOUT_MS: '2000',
    })
  })
  afterAll(async () => {
    await server?.stop()
    await proxy?.close()
    await postgres?.destroy()
  })

  it('answers 503 for the requests hit, never reuses a faulted connection, never serves a foreign row', async () => {
    const items = itemTargets(db.tenants)
    const articles = await articleTargets(db.jwtSecret)
    // Interleave: mostly single-Sync item reads, one transaction in four.
    const targets = items.flatMap((target, n) =>
      n % 3 === 0 ? [target, articles[n % articles.length]!] : [target],
    )
    let faulting = true
    const faults = (async () => {
      for (let n = 0; faulting; n += 1) {
        if (n % 2 === 0) proxy.cut()
        else proxy.corrupt()
        await sleep(150)
      }
    })()
    let stopping = false
    const load = runLoad({
      url: server.url,
      targets,
      concurrency: 12,
      stop: () => stopping,
      timeoutMs: 15_000,
    })
    await sleep(12_000)
    faulting = false
    await faults
    await sleep(500)
    stopping = true
    const result = await load
    const report = JSON.stringify({ ...summary(result), proxy: proxy.stats })
    console.log(`cut/corrupt: ${report}`)

    expect(server.running, server.output).toBe(true)
    expect(proxy.stats.cuts, report).toBeGreaterThan(10)
    expect(proxy.stats.corruptions, report).toBeGreaterThan(10)
    expect(proxy.stats.reusedAfterFault, report).toBe(0)
    expect(result.foreign, report).toBe(0)
    expect(result.empty, report).toBe(0)
    expect(result.networkErrors, report).toEqual({})
    for (const status of Object.keys(result.statuses)) expect(['200', '503']).toContain(status)
    for (const code of Object.keys(result.codes)) {
      expect(['ROWFENCE_DATABASE_UNAVAILABLE', 'ROWFENCE_COMMIT_UNKNOWN']).toContain(code)
    }
    expect(result.statuses['503'] ?? 0, report).toBeGreaterThan(0)
    expect(result.missingRetryAfter, report).toBe(0)

    // With the faults gone, everything succeeds on fresh connections.
    const after = await runLoad({ url: server.url, targets, concurrency: 8, requests: 600 })
    expect(summary(after)).toMatchObject({ ok: 600, foreign: 0, empty: 0, statuses: { 200: 600 } })
    expect(proxy.stats.reusedAfterFault).toBe(0)
  })
})
