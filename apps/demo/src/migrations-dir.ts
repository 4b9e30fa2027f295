import { fileURLToPath } from 'node:url'
import { loadMigrations, type Migration } from '@rowfence/core/migrate'

/** The demo app's SQL migrations. */
export const demoMigrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))

/** The Citus flavour of the same migrations: distributed tables, no triggers (see docs/citus.md). */
export const demoCitusMigrationsDir = fileURLToPath(new URL('../migrations-citus/', import.meta.url))

/** The migration that moved the demo to the signed tenant context (docs/signed-context.md). */
export const SIGNED_CONTEXT_MIGRATION = '0007_signed_context'

/**
 * The demo's migrations before SIGNED_CONTEXT_MIGRATION: the plain context, whose policies trust settings
 * any role can set. What `npm run bench` measures and what the linter's fixtures build on.
 */
export async function plainContextMigrations(): Promise<Migration[]> {
  const migrations = await loadMigrations(demoMigrationsDir)
  const plain = migrations.filter((migration) => migration.id < SIGNED_CONTEXT_MIGRATION)
  if (!migrations.some((migration) => migration.id === SIGNED_CONTEXT_MIGRATION)) {
    throw new Error(`the demo has no migration ${SIGNED_CONTEXT_MIGRATION}`)
  }
  return plain
}
