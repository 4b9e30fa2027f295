import { RowfenceError, TenantPool, type ContextMode, type TenantContextConfig } from '@rowfence/core'
import { PrismaPg } from '@prisma/adapter-pg'
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import type { Pool } from 'pg'

type PrismaPgOptions = NonNullable<ConstructorParameters<typeof PrismaPg>[1]>

export interface PrismaRowfenceOptions extends PrismaPgOptions {
  /** Id types, setting names and claims of the context (see defineContextConfig in @rowfence/core). */
  readonly contextConfig?: TenantContextConfig | undefined
  /** `set-local` on Citus (see ContextMode in @rowfence/core). */
  readonly contextMode?: ContextMode | undefined
  /**
   * Behind a transaction-mode pooler that does not keep prepared statements (PgBouncer < 1.21, RDS Proxy,
   * Supavisor): every statement goes out unnamed. Otherwise statements with parameters are prepared once
   * per connection and planned by rowfence's plan advisor.
   */
  readonly pooler?: boolean | undefined
}

/**
 * A Prisma 7 driver adapter factory: `@prisma/adapter-pg` over a TenantPool. Inside `withTenant()` every
 * query and interactive transaction (`$transaction`, which becomes a savepoint) runs on that tenant
 * transaction; inside `asTenant()` a single statement takes one round trip and an interactive
 * transaction is one tenant transaction; elsewhere queries fail with ROWFENCE_NO_TENANT_CONTEXT.
 *
 * ```ts
 * const prisma = new PrismaClient({ adapter: new PrismaRowfence(pool) })
 * ```
 */
export class PrismaRowfence implements SqlDriverAdapterFactory {
  readonly provider = 'postgres'
  readonly adapterName: string
  /** `tenantPool.withTenant(context, fn)` opens a tenant transaction. */
  readonly tenantPool: TenantPool
  readonly #factory: PrismaPg

  constructor(pool: Pool, options: PrismaRowfenceOptions = {}) {
    const { contextConfig, contextMode, pooler, ...pgOptions } = options
    this.tenantPool = new TenantPool(pool, { contextConfig, contextMode, pooler })
    this.#factory = new PrismaPg(this.tenantPool as unknown as Pool, pgOptions)
    this.adapterName = this.#factory.adapterName
  }

  async connect(): Promise<SqlDriverAdapter> {
    const adapter = await this.#factory.connect()
    // @prisma/adapter-pg recognises a pool with `instanceof pg.Pool`; a second copy of `pg` would make it
    // open a pool of its own, outside the tenant context. Refuse rather than run without it.
    if ((adapter as { underlyingDriver?(): unknown }).underlyingDriver?.() !== this.tenantPool) {
      await adapter.dispose()
      throw new RowfenceError('ROWFENCE_CONFIG_INVALID', {
        message: '@prisma/adapter-pg and @rowfence/prisma resolve different copies of "pg"; dedupe pg',
      })
    }
    return adapter
  }
}
