import type { Pool, PoolClient } from 'pg'
import {
  contextConfigFor,
  normalizeContextWith,
  quoteIdentifier,
  TENANT_SETTING,
  type TenantContextConfig,
} from '@rowfence/core'

export interface AsTenantOptions {
  /** Run as this role (`SET LOCAL ROLE`), e.g. your app role when the pool connects as the owner. */
  readonly role?: string | undefined
  /** Settings that receive the tenant id (default: rowfence's own, `rowfence.tenant_id`). */
  readonly settings?: readonly string[] | undefined
  /**
   * The context config your app uses, e.g. the signed context (default: the one bound to the pool with
   * bindContextConfig, if any): the context is then set exactly as withTenant sets it.
   */
  readonly contextConfig?: TenantContextConfig | undefined
  /** Or the statement your app sets its context with, `$1` = the tenant id. */
  readonly contextSql?: string | undefined
  /** Commit at the end (default: roll back, so a test leaves nothing behind). */
  readonly commit?: boolean | undefined
}

/**
 * Runs `fn` on one connection inside a transaction, as one tenant: the context is set transaction-
 * locally, the way the app sets it, and the transaction is rolled back afterwards (unless `commit`).
 *
 * ```ts
 * const rows = await asTenant(pool, tenantA, (db) => db.query('SELECT * FROM items'), { role: 'app' })
 * ```
 */
export async function asTenant<T>(
  pool: Pool,
  tenantId: string,
  fn: (client: PoolClient) => Promise<T>,
  options: AsTenantOptions = {},
): Promise<T> {
  const client = await pool.connect()
  let broken = false
  try {
    await client.query('BEGIN')
    try {
      if (options.role) await client.query(`SET LOCAL ROLE ${quoteIdentifier(options.role)}`)
      const config = options.settings ? undefined : contextConfigFor(pool, options.contextConfig)
      if (options.contextSql) {
        await client.query(options.contextSql, [tenantId])
      } else if (config) {
        const context = normalizeContextWith({ tenantId }, config)
        for (const [setting, value] of context.settings ?? [[TENANT_SETTING, context.tenantId]]) {
          await client.query('SELECT set_config($1, $2, true)', [setting, value])
        }
      } else {
        for (const setting of options.settings ?? [TENANT_SETTING]) {
          await client.query('SELECT set_config($1, $2, true)', [setting, tenantId])
        }
      }
      const result = await fn(client)
      await client.query(options.commit ? 'COMMIT' : 'ROLLBACK')
      return result
    } catch (error) {
      // Roll back, then rethrow the original error.
      await client.query('ROLLBACK').catch(() => {
        broken = true
      })
      throw error
    }
  } finally {
    client.release(broken)
  }
}
