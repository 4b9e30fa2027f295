/**
 * One demo server process of the bench (a node:cluster worker, or a plain child): the real demo app in
 * production mode (log level warn) plus the hidden comparison routes. Configured by the primary through
 * ROWFENCE_BENCH_SERVER (JSON); answers { type: 'stop' } by closing the server and its pool.
 */
import pg from 'pg'
import { bindContextConfig, createTenantDatabase, parseContextKey } from '@rowfence/core'
import { buildApp } from '@rowfence/demo'
import { SERVER_CONFIG_VARIABLE, type ServerWorkerConfig } from './server-config.ts'

async function main(): Promise<void> {
  const config = JSON.parse(process.env[SERVER_CONFIG_VARIABLE] ?? '') as ServerWorkerConfig
  const pool = new pg.Pool({ connectionString: config.appUrl, max: config.poolSize })
  // The comparison routes get the same plan caching GET /items/ has (it asks for a cached generic plan
  // per statement): session-wide here, so baseline and naive are not slowed by re-planning either.
  const comparisonPool = new pg.Pool({
    connectionString: config.appUrl,
    max: config.poolSize,
    options: '-c plan_cache_mode=force_generic_plan',
  })
  for (const p of [pool, comparisonPool]) {
    p.on('error', (error) => console.error(`bench server: idle connection failed: ${error.message}`))
    // The demo's signed context: GET /items/ and the naive route sign (the baseline sets no context).
    if (config.contextKey) bindContextConfig(p, { signing: { key: parseContextKey(config.contextKey) } })
  }
  const app = await buildApp({
    db: createTenantDatabase(pool),
    jwtSecret: config.jwtSecret,
    logger: { level: 'warn' },
    benchRoutes: { pool: comparisonPool },
  })
  await app.listen({ host: '127.0.0.1', port: config.port })
  process.on('message', function onPrimaryMessage(message: { type?: string }) {
    if (message?.type !== 'stop') return
    void app
      .close()
      .then(() => Promise.all([pool.end(), comparisonPool.end()]))
      .finally(() => process.exit(0))
  })
  process.send?.({ type: 'ready' })
}

main().catch((error: unknown) => {
  console.error('bench server failed to start:', error)
  process.exit(1)
})
