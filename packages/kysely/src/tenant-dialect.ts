import { TenantPool, type ContextMode, type TenantContextConfig } from '@rowfence/core'
import {
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
} from 'kysely'
import type { Pool } from 'pg'

export interface TenantPostgresDialectConfig {
  /** The app role's node-postgres pool. */
  readonly pool: Pool
  /** `pg-cursor`'s default export, for `.stream()`. */
  readonly cursor?: unknown
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
 * Kysely's PostgresDialect over a TenantPool: inside `withTenant()` every query, `db.transaction()` (a
 * savepoint) and `.stream()` runs on that tenant transaction; inside `asTenant()` a single statement takes
 * one round trip and `db.transaction()` is one tenant transaction; elsewhere queries fail with
 * ROWFENCE_NO_TENANT_CONTEXT.
 */
export class TenantPostgresDialect implements Dialect {
  readonly #dialect: PostgresDialect
  /** The pool Kysely talks to; `tenantPool.withTenant(context, fn)` opens a tenant transaction. */
  readonly tenantPool: TenantPool

  constructor(config: TenantPostgresDialectConfig) {
    this.tenantPool = new TenantPool(config.pool, {
      contextConfig: config.contextConfig,
      contextMode: config.contextMode,
      pooler: config.pooler,
    })
    this.#dialect = new PostgresDialect({
      pool: this.tenantPool as unknown as Pool,
      ...(config.cursor ? { cursor: config.cursor as never } : {}),
    })
  }

  createDriver(): Driver {
    return this.#dialect.createDriver()
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}
