import type { Pool } from 'pg'
import { RowfenceError } from '../errors.ts'
import type { NormalizedContext } from './context-config.ts'
import type { TenantTransaction } from './with-tenant.ts'

/** The pool each open tenant transaction came from. */
const pools = new WeakMap<TenantTransaction, Pool>()

/** @internal */
export function rememberPool(tx: TenantTransaction, pool: Pool): void {
  pools.set(tx, pool)
}

/** @internal The pool a tenant transaction runs on. */
export function poolOf(tx: TenantTransaction): Pool | undefined {
  return pools.get(tx)
}

function sameContext(a: NormalizedContext, b: NormalizedContext): boolean {
  if (a.tenantId !== b.tenantId || a.userId !== b.userId) return false
  // A signed value differs per call (its expiry): compare who it names instead.
  if (a.identity !== undefined || b.identity !== undefined) return a.identity === b.identity
  const left = a.settings ?? []
  const right = b.settings ?? []
  return (
    left.length === right.length &&
    left.every(([name, value], i) => right[i]?.[0] === name && right[i]?.[1] === value)
  )
}

/**
 * A withTenant() inside the callback of another on the same pool: for the same context it reuses the
 * outer transaction (no second connection, so no deadlock on a small pool); for another tenant, user
 * or claims it refuses with ROWFENCE_TENANT_MISMATCH rather than switching silently. Returns the
 * transaction to reuse, or undefined when a transaction of its own is needed.
 */
export function enterNested(
  pool: Pool,
  outer: TenantTransaction | undefined,
  settings: NormalizedContext,
): TenantTransaction | undefined {
  if (!outer || outer.ended || pools.get(outer) !== pool) return undefined
  if (!sameContext(outer.settings, settings)) throw new RowfenceError('ROWFENCE_TENANT_MISMATCH')
  return outer
}
