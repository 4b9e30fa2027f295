import type { Pool, PoolClient } from 'pg'
import { RowfenceError } from '../errors.ts'
import { splitStatements } from '../sql/split-statements.ts'
import { inTransaction, withClient } from '../sql/transaction.ts'
import type { Migration } from './migrations.ts'

/** Key of the session advisory lock that serializes migration runs across processes. */
export const MIGRATION_LOCK_KEY = 7_316_544_120_981n

export interface MigrateOptions {
  readonly migrations: readonly Migration[]
  /** Print instead of apply: returns the pending migrations without running them. */
  readonly dryRun?: boolean | undefined
  /** Called before each migration is applied. */
  readonly onApply?: ((migration: Migration) => void) | undefined
  /**
   * Send each statement of a migration as its own query (still one transaction per migration). Needed on
   * Citus, which forwards the whole query string of some DDL to the workers. Default false: the file
   * goes out as one query.
   */
  readonly statementByStatement?: boolean | undefined
}

export interface MigrationState {
  readonly id: string
  readonly status: 'applied' | 'pending'
  readonly appliedAt: Date | null
}

export interface MigrateResult {
  readonly applied: readonly Migration[]
  readonly pending: readonly Migration[]
}

const ensureTableSql = `
CREATE SCHEMA IF NOT EXISTS rowfence;
CREATE TABLE IF NOT EXISTS rowfence.schema_migrations (
  id text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON rowfence.schema_migrations FROM PUBLIC;`

interface AppliedRow {
  id: string
  checksum: string
  applied_at: Date
}

async function readApplied(client: PoolClient): Promise<Map<string, AppliedRow>> {
  const exists = await client.query<{ present: boolean }>(
    `SELECT to_regclass('rowfence.schema_migrations') IS NOT NULL AS present`,
  )
  if (!exists.rows[0]?.present) return new Map()
  const { rows } = await client.query<AppliedRow>(
    'SELECT id, checksum, applied_at FROM rowfence.schema_migrations ORDER BY id',
  )
  return new Map(rows.map((row) => [row.id, row]))
}

/** An applied migration whose file changed since is an error: history must not be rewritten. */
function verifyChecksums(migrations: readonly Migration[], applied: Map<string, AppliedRow>): void {
  for (const migration of migrations) {
    const row = applied.get(migration.id)
    if (row && row.checksum !== migration.checksum) {
      throw new RowfenceError('ROWFENCE_MIGRATION_CHECKSUM_MISMATCH', {
        message: `Migration ${migration.id} was edited after it was applied; add a new migration instead`,
        details: { migration: migration.id },
      })
    }
  }
}

/**
 * Applies pending migrations in order, each in its own transaction, while holding a session advisory
 * lock: a second process waits, then finds nothing left to do. Run it as the owner role.
 */
export async function migrate(pool: Pool, options: MigrateOptions): Promise<MigrateResult> {
  return withClient(pool, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()])
    try {
      const applied = await readApplied(client)
      verifyChecksums(options.migrations, applied)
      const pending = options.migrations.filter((migration) => !applied.has(migration.id))
      if (options.dryRun) return { applied: [], pending }
      const run = async (sql: string): Promise<void> => {
        for (const statement of options.statementByStatement ? splitStatements(sql) : [sql]) {
          await client.query(statement)
        }
      }
      if (pending.length > 0) await run(ensureTableSql)
      const done: Migration[] = []
      for (const migration of pending) {
        options.onApply?.(migration)
        try {
          await inTransaction(client, async () => {
            await run(migration.sql)
            await client.query('INSERT INTO rowfence.schema_migrations (id, checksum) VALUES ($1, $2)', [
              migration.id,
              migration.checksum,
            ])
          })
        } catch (cause) {
          throw new RowfenceError('ROWFENCE_MIGRATION_FAILED', {
            message: `Migration ${migration.id} failed and was rolled back: ${(cause as Error).message}`,
            cause,
            details: { migration: migration.id },
          })
        }
        done.push(migration)
      }
      return { applied: done, pending: [] }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()])
    }
  })
}

/** Lists every known migration as applied or pending (and verifies checksums). */
export async function migrationStatus(
  pool: Pool,
  migrations: readonly Migration[],
): Promise<MigrationState[]> {
  return withClient(pool, async (client) => {
    const applied = await readApplied(client)
    verifyChecksums(migrations, applied)
    return migrations.map((migration) => {
      const row = applied.get(migration.id)
      return { id: migration.id, status: row ? 'applied' : 'pending', appliedAt: row?.applied_at ?? null }
    })
  })
}
