import type { Pool, PoolClient } from 'pg'
import { contextKeyPads, type ContextSigningKey } from '../context/signed-context.ts'
import { fromDatabaseError } from '../errors.ts'

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

/** Adds a key (or replaces the secret of a key with the same id). */
export async function addContextKey(db: Queryable, key: ContextSigningKey): Promise<void> {
  const { ipad, opad } = contextKeyPads(key)
  try {
    await db.query(
      `INSERT INTO rowfence.context_keys (id, ipad, opad) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET ipad = EXCLUDED.ipad, opad = EXCLUDED.opad, not_after = NULL`,
      [key.id, ipad, opad],
    )
  } catch (error) {
    throw fromDatabaseError(error)
  }
}

/** Stops verifying values signed with key `id` from `at` (default: now). Returns false for an unknown id. */
export async function retireContextKey(db: Queryable, id: string, at: Date = new Date()): Promise<boolean> {
  try {
    const { rowCount } = await db.query('UPDATE rowfence.context_keys SET not_after = $2 WHERE id = $1', [
      id,
      at,
    ])
    return rowCount === 1
  } catch (error) {
    throw fromDatabaseError(error)
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
