export {
  errorCatalogue,
  fromDatabaseError,
  isRowfenceError,
  RowfenceError,
  type RowfenceErrorCode,
  type RowfenceErrorOptions,
} from './errors.ts'
export { qualifiedName, quoteIdentifier } from './sql/identifier.ts'
export {
  isUuid,
  normalizeContext,
  TENANT_SETTING,
  USER_SETTING,
  type TenantContext,
} from './context/tenant-context.ts'
export {
  currentTransaction,
  queryAsTenant,
  TenantTransaction,
  withTenant,
  type IsolationLevel,
  type TenantQueryable,
  type TenantQueryConfig,
  type WithTenantOptions,
} from './context/with-tenant.ts'
export { createTenantDatabase, type TenantDatabase } from './context/tenant-database.ts'
export { PipelinedBatch, type BatchStatement } from './context/pipelined-batch.ts'
export { checksumOf, loadMigrations, migrationFrom, type Migration } from './migrate/migrations.ts'
export {
  migrate,
  MIGRATION_LOCK_KEY,
  migrationStatus,
  type MigrateOptions,
  type MigrateResult,
  type MigrationState,
} from './migrate/migrate.ts'
export { provisionDatabase, type DatabaseSetup } from './roles.ts'
export {
  checkDatabase,
  countBySeverity,
  runRules,
  TOOL_VERSION,
  type CheckOptions,
  type CheckReport,
} from './check/check-database.ts'
export { introspect, SHARED_MARKER, type IntrospectOptions } from './check/introspect.ts'
export { checkRules } from './check/rules/index.ts'
export {
  applyBaseline,
  createBaseline,
  readBaseline,
  serializeBaseline,
  writeBaseline,
  type Baseline,
  type BaselineEntry,
} from './check/baseline.ts'
export { fingerprintOf } from './check/finding.ts'
export { formatText } from './check/format-text.ts'
export { formatJson } from './check/format-json.ts'
export { formatSarif, SARIF_SCHEMA, toSarif, type SarifLog } from './check/format-sarif.ts'
export type { CatalogSnapshot, Command, Finding, Rule, Severity } from './check/types.ts'
