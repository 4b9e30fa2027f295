/** `@rowfence/core/schema`: declarative tenant tables, the DDL compiler and migration generator. */
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
} from './columns.ts'
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
} from './table.ts'
export {
  isRowfenceSchema,
  RowfenceSchema,
  rowfenceSchema,
  TENANT_COLUMN,
  type RowfenceSchemaOptions,
} from './rowfence-schema.ts'
export type * from './model.ts'
export { CONTEXT_FUNCTIONS, CONTEXT_SCHEMA, SCHEMA_MODEL_VERSION } from './model.ts'
export type { Operation } from './operations.ts'
export { compileOperations } from './ddl-compiler.ts'
export { diffSchemas, type DiffOptions } from './diff.ts'
export { readSnapshot, SNAPSHOT_FILE, type SchemaSnapshot } from './snapshot.ts'
export { generateMigration, renderSchema, type GenerateOptions, type GenerateResult } from './generate.ts'
