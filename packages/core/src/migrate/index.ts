/** `@rowfence/core/migrate`: numbered SQL migrations and database provisioning. */
export { checksumOf, loadMigrations, migrationFrom, type Migration } from './migrations.ts'
export {
  migrate,
  MIGRATION_LOCK_KEY,
  migrationStatus,
  type MigrateOptions,
  type MigrateResult,
  type MigrationState,
} from './migrate.ts'
export { provisionDatabase, type DatabaseSetup } from '../roles.ts'
export { addContextKey, listContextKeys, retireContextKey, type ContextKeyInfo } from './context-keys.ts'
