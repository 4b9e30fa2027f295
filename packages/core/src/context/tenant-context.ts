import { RowfenceError } from '../errors.ts'

/** Who a unit of work runs as. `tenantId` is required; `userId` is optional (the acting user). */
export interface TenantContext {
  /** A UUID by default; text or bigint ids with a TenantContextConfig. */
  readonly tenantId: string | bigint | number
  readonly userId?: string | bigint | number | null | undefined
  /** Extra claims (role, plan, ...) for the settings a TenantContextConfig names; sent as text. */
  readonly claims?:
    Readonly<Record<string, string | number | bigint | boolean | null | undefined>> | undefined
}

/** The transaction-local settings the database policies read through the context functions. */
export const TENANT_SETTING = 'rowfence.tenant_id'
export const USER_SETTING = 'rowfence.user_id'

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value)
}

/**
 * Validates a context before anything is sent to the server and returns it in canonical form
 * (lower-case ids, userId '' when absent so a stale value can never survive).
 */
export function normalizeContext(context: TenantContext): { tenantId: string; userId: string } {
  if (context === null || typeof context !== 'object' || !isUuid(context.tenantId)) {
    throw new RowfenceError('ROWFENCE_INVALID_TENANT')
  }
  const userId = context.userId
  if (userId !== undefined && userId !== null && !isUuid(userId)) {
    throw new RowfenceError('ROWFENCE_INVALID_USER')
  }
  return { tenantId: context.tenantId.toLowerCase(), userId: userId ? userId.toLowerCase() : '' }
}
