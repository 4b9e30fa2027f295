export {
  errorCatalogue,
  fromDatabaseError,
  isRowfenceError,
  RowfenceError,
  type RowfenceErrorCode,
  type RowfenceErrorOptions,
} from './errors.ts'
export { qualifiedName, quoteIdentifier } from './sql/identifier.ts'
export { quoteLiteral } from './sql/literal.ts'
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
  bigint,
  boolean,
  bytea,
  ColumnBuilder,
  date,
  doublePrecision,
  integer,
  jsonb,
  numeric,
  text,
  timestamptz,
  uuid,
  type ColumnState,
  type DefaultValueByType,
  type JsonValue,
} from './schema/columns.ts'
export {
  tenantsTable,
  tenantTable,
  TenantTable,
  type Columns,
  type OnDelete,
  type ReadPolicy,
  type TablePolicies,
  type TableReference,
  type TenantsTableOptions,
  type TenantTableOptions,
  type WritePolicy,
} from './schema/table.ts'
export {
  isRowfenceSchema,
  RowfenceSchema,
  rowfenceSchema,
  TENANT_COLUMN,
  type RowfenceSchemaOptions,
} from './schema/rowfence-schema.ts'
export type * from './schema/model.ts'
export { CONTEXT_FUNCTIONS, CONTEXT_SCHEMA, SCHEMA_MODEL_VERSION } from './schema/model.ts'
export type { Operation } from './schema/operations.ts'
export { compileOperations } from './schema/ddl-compiler.ts'
export { diffSchemas, type DiffOptions } from './schema/diff.ts'
export { readSnapshot, SNAPSHOT_FILE, type SchemaSnapshot } from './schema/snapshot.ts'
export {
  generateMigration,
  renderSchema,
  type GenerateOptions,
  type GenerateResult,
} from './schema/generate.ts'
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
