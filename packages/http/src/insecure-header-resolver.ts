import type { TenantContext } from '@rowfence/core'
import { headerOf, type HeaderSource } from './headers.ts'

export interface InsecureHeaderResolverOptions {
  /** Default `x-tenant-id`. */
  readonly tenantHeader?: string | undefined
  /** Default `x-user-id`. */
  readonly userHeader?: string | undefined
}

/**
 * DEVELOPMENT ONLY. Takes the tenant (and user) from plain request headers that any client can set: with
 * it, anyone can act as any tenant. For local tools and tests; production uses jwtResolver(). A request
 * without the tenant header gets a 401; a value that is not a valid id gets a 400 (ROWFENCE_INVALID_TENANT).
 */
export function insecureHeaderResolver(
  options: InsecureHeaderResolverOptions = {},
): (request: HeaderSource) => TenantContext | undefined {
  const tenantHeader = options.tenantHeader ?? 'x-tenant-id'
  const userHeader = options.userHeader ?? 'x-user-id'
  return function resolveTenantFromHeaderInsecurely(request: HeaderSource): TenantContext | undefined {
    const tenantId = headerOf(request, tenantHeader)?.trim()
    if (!tenantId) return undefined
    const userId = headerOf(request, userHeader)?.trim()
    return { tenantId, userId: userId || undefined }
  }
}
