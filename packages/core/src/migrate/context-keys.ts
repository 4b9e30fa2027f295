import type { Pool, PoolClient } from 'pg'
import { contextKeyPads, type ContextSigningKey } from '../context/signed-context.ts'
import { fromDatabaseError, RowfenceError } from '../errors.ts'
import { contextKeyRevokeSql, contextKeyTableSql } from '../schema/ddl-compiler.ts'

/**
 * The signed context's keys in the database (`rowfence.context_keys`, readable by its owner only). Run
 * these as the owner (the role that ran the migrations), never as the app role. Rotation: add the new
 * key, deploy the app signing with it, then retire the old one (`retireContextKey`), which stops
 * verifying at `at`: values signed with it are NULL from then on.
 */

type Queryable = Pick<Pool | PoolClient, 'query'>

export interface ContextKeyInfo {
  readonly id: string
  readonly createdAt: Date
  readonly notAfter: Date | null
}

/**
 * Runs a key-table write here and, on a Citus coordinator, on every worker: the policies of distributed
 * tables verify the context on the workers, each against its own copy of the key table (created there
 * by the first key, see the schema's Citus flavour). `template` is the statement with `%L` where the
 * values go: this node gets bind parameters, the workers the values quoted by PostgreSQL's format(). The
 * workers' writes are not atomic with this one: a failure names the workers, and the same call again is
 * safe (every step is idempotent).
 */
async function writeOnEveryNode(db: Queryable, template: string, values: readonly string[]): Promise<number> {
  let position = 0
  const local = template.replace(/%L/g, () => `$${++position}`)
  const { rowCount } = await db.query(local, [...values])
  const citus = await db.query<{ citus: boolean }>(
    "SELECT to_regclass('pg_catalog.pg_dist_node') IS NOT NULL AS citus",
  )
  if (!citus.rows[0]?.citus) return rowCount ?? 0
  const { rows } = await db.query<{ workers: number }>(
    'SELECT count(*)::int AS workers FROM pg_catalog.pg_dist_node WHERE groupid <> 0',
  )
  if (!rows[0]?.workers) return rowCount ?? 0
  const failed: { node: string; error: string }[] = []
  // The table and its privileges first (the first key creates them on a worker), then the write itself.
  const escaped = (sql: string) => sql.replace(/%/g, '%%')
  for (const command of [escaped(contextKeyTableSql()), escaped(contextKeyRevokeSql()), template]) {
    const result = await db.query<{ nodename: string; nodeport: number; result: string }>(
      `SELECT nodename, nodeport, result FROM run_command_on_workers(format($1, ${values
        .map((_, i) => `$${i + 2}::text`)
        .join(', ')})) WHERE NOT success`,
      [command, ...values],
    )
    failed.push(...result.rows.map((row) => ({ node: `${row.nodename}:${row.nodeport}`, error: row.result })))
    if (failed.length > 0) break
  }
  if (failed.length > 0) {
    throw new RowfenceError('ROWFENCE_MIGRATION_FAILED', {
      message: `The context key could not be written on every Citus worker (${failed
        .map((entry) => entry.node)
        .join(', ')}); run the same command again`,
      details: { workers: failed },
    })
  }
  return rowCount ?? 0
}

/**
 * Creates the key table here when no migration has yet (the same DDL as the signed migration's, which
 * then finds it): a key can be installed before an existing schema's move to the signed context, so the
 * app can sign before the migration verifies (docs/signed-context.md). Needs the rowfence schema, which
 * every generated migration creates.
 */
async function ensureKeyTable(db: Queryable): Promise<void> {
  const { rows } = await db.query<{ schema: boolean; table: boolean }>(
    `SELECT to_regnamespace('rowfence') IS NOT NULL AS schema,
            to_regclass('rowfence.context_keys') IS NOT NULL AS table`,
  )
  if (rows[0]?.table) return
  if (!rows[0]?.schema) {
    throw new RowfenceError('ROWFENCE_CONFIG_INVALID', {
      message: 'This database has no rowfence schema: apply the migrations first (rowfence migrate)',
    })
  }
  await db.query(contextKeyTableSql())
  await db.query(contextKeyRevokeSql())
}

/**
 * Adds a key (or replaces the secret of a key with the same id); on Citus, on every node. Creates the key
 * table first if the signed migration has not been applied yet.
 */
export async function addContextKey(db: Queryable, key: ContextSigningKey): Promise<void> {
  const { ipad, opad } = contextKeyPads(key)
  try {
    await ensureKeyTable(db)
    await writeOnEveryNode(
      db,
      `INSERT INTO rowfence.context_keys (id, ipad, opad) VALUES (%L, %L::bytea, %L::bytea)
       ON CONFLICT (id) DO UPDATE SET ipad = EXCLUDED.ipad, opad = EXCLUDED.opad, not_after = NULL`,
      [key.id, `\\x${ipad.toString('hex')}`, `\\x${opad.toString('hex')}`],
    )
  } catch (error) {
    throw error instanceof RowfenceError ? error : fromDatabaseError(error)
  }
}

/**
 * Stops verifying values signed with key `id` from `at` (default: now); on Citus, on every node. Returns
 * false for an unknown id.
 */
export async function retireContextKey(db: Queryable, id: string, at: Date = new Date()): Promise<boolean> {
  try {
    const rowCount = await writeOnEveryNode(
      db,
      'UPDATE rowfence.context_keys SET not_after = %L::timestamptz WHERE id = %L',
      [at.toISOString(), id],
    )
    return rowCount === 1
  } catch (error) {
    throw error instanceof RowfenceError ? error : fromDatabaseError(error)
  }
}

export async function listContextKeys(db: Queryable): Promise<ContextKeyInfo[]> {
  try {
    const { rows } = await db.query<{ id: string; created_at: Date; not_after: Date | null }>(
      'SELECT id, created_at, not_after FROM rowfence.context_keys ORDER BY created_at, id',
    )
    return rows.map((row) => ({ id: row.id, createdAt: row.created_at, notAfter: row.not_after }))
  } catch (error) {
    throw fromDatabaseError(error)
  }
}
