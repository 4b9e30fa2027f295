import type { TenantContext } from '@rowfence/core'

/**
 * Turns a request into the tenant context, from a verified source. Returning undefined (or throwing a
 * RowfenceHttpError ROWFENCE_UNAUTHENTICATED) answers 401 before any database connection is taken.
 */
export type TenantResolver<Request> = (
  request: Request,
) => TenantContext | undefined | Promise<TenantContext | undefined>
