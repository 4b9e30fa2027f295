/** `@rowfence/core`: the tenant context, the error catalogue and SQL quoting. */
export {
  errorCatalogue,
  findRowfenceError,
  fromDatabaseError,
  isConnectionFailure,
  isPoolTimeout,
  isRowfenceError,
  RowfenceError,
  type RowfenceErrorCode,
  type RowfenceErrorOptions,
} from './errors.ts'
export { qualifiedName, quoteIdentifier } from './sql/identifier.ts'
export { quoteLiteral } from './sql/literal.ts'
export { inTransaction, withClient, type InTransactionOptions } from './sql/transaction.ts'
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
  type QueryAsTenantOptions,
  type TenantQueryable,
  type TenantQueryConfig,
  type PoolerOptions,
  type WithTenantOptions,
} from './context/with-tenant.ts'
export {
  createTenantDatabase,
  type TenantDatabase,
  type TenantDatabaseOptions,
} from './context/tenant-database.ts'
export {
  createRequestTransaction,
  RequestTransaction,
  type RequestTransactionOptions,
  type TenantConnectionSource,
} from './context/request-transaction.ts'
export { PipelinedBatch, type BatchStatement } from './context/pipelined-batch.ts'
export {
  planChoices,
  planShape,
  setPlanAdvisor,
  RESAMPLE_EVERY,
  SAMPLES_TO_DECIDE,
  type PlanChoice,
  type PlanChoiceReport,
} from './context/plan-advisor.ts'
export { AUTO_STATEMENT_PREFIX, MAX_AUTO_PREPARED } from './context/statement-names.ts'
export { type ContextMode, type ContextModeOptions } from './context/context-statements.ts'
export {
  bindContextConfig,
  contextConfigFor,
  defineContextConfig,
  normalizeContextWith,
  normalizeId,
  type ClaimValue,
  type NormalizedContext,
  type TenantContextConfig,
  type TenantIdType,
} from './context/context-config.ts'
export { classifyTransactionControl, type TransactionControl } from './context/transaction-control.ts'
export { isSubmittable, type TenantClient } from './context/tenant-client.ts'
export {
  asTenant,
  currentTenantScope,
  TenantPool,
  TenantPoolClient,
  type TenantPoolOptions,
} from './context/tenant-pool.ts'
export {
  CONTEXT_SETTING,
  contextKeyPads,
  formatContextKey,
  generateContextKey,
  parseContextKey,
  signContext,
  type ContextSigning,
  type ContextSigningKey,
} from './context/signed-context.ts'
