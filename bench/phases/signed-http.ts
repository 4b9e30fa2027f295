import pg from 'pg'
import { formatContextKey, generateContextKey, parseContextKey } from '@rowfence/core'
import { addContextKey, loadMigrations, migrate } from '@rowfence/core/migrate'
import { demoMigrationsDir, SIGNED_CONTEXT_MIGRATION } from '@rowfence/demo'
import type { BenchDatabase } from '../database.ts'
import { freePort } from '../database.ts'
import { startServerGroup } from '../server/server-group.ts'
import type { BenchContext } from './bench-context.ts'
import { runHttpPhase, type HttpPhaseResult } from './http.ts'

/** The demo's default since its migration 0007: the signed context, measured through the same HTTP routes. */
export type SignedHttpResult =
  | { readonly status: 'measured'; readonly concurrency: number; readonly http: HttpPhaseResult }
  | { readonly status: 'skipped'; readonly reason: string }

/**
 * Runs last: migrates the bench database on to the signed context (the demo's migration 0007), installs
 * a key, starts the demo servers signing with it, and measures the three scenarios again at one
 * concurrency (byte-identical JSON checked first). The baseline route sets no context, so
 * `rowfence / baseline` here is what the demo as it runs costs over no isolation, and comparing it with
 * the plain context's ratio from the HTTP phase shows what the signature adds. Only on the bench's own
 * embedded PostgreSQL: on a DATABASE_URL it would leave the database on the signed context, which the
 * next run's plain-context phases cannot use.
 */
export async function runSignedHttpPhase(
  context: BenchContext,
  database: BenchDatabase,
): Promise<SignedHttpResult> {
  if (!database.embedded) {
    return {
      status: 'skipped',
      reason: 'a DATABASE_URL was given (the phase migrates to the signed context)',
    }
  }
  const { options, log } = context
  const contextKey = formatContextKey(generateContextKey({ prefix: 'bench-' }))
  const owner = new pg.Pool({ connectionString: database.ownerUrl, max: 1 })
  try {
    const { applied } = await migrate(owner, { migrations: await loadMigrations(demoMigrationsDir) })
    if (!applied.some((migration) => migration.id === SIGNED_CONTEXT_MIGRATION)) {
      throw new Error(`bench: the signed context migration (${SIGNED_CONTEXT_MIGRATION}) was not applied`)
    }
    await addContextKey(owner, parseContextKey(contextKey))
  } finally {
    await owner.end()
  }
  const concurrency = options.concurrency.includes(50) ? 50 : options.concurrency.at(-1)!
  const servers = await startServerGroup({
    appUrl: database.appUrl,
    poolSize: options.poolSize,
    jwtSecret: context.jwtSecret,
    port: await freePort(),
    workers: options.workers,
    contextKey,
  })
  log(`signed context: ${servers.workers} server process(es) on ${servers.origin}, c=${concurrency}`)
  try {
    const http = await runHttpPhase(
      { ...context, options: { ...options, concurrency: [concurrency] } },
      servers,
    )
    return { status: 'measured', concurrency, http }
  } finally {
    await servers.stop()
  }
}
