import type { ClientBase } from 'pg'
import type { CitusFacts, CitusTable } from '../types.ts'

/** Whether the database has the Citus extension (its metadata table), without touching Citus functions. */
const presentSql = `SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL AS present`

/**
 * Citus metadata of the given relations: how each is spread (hash-distributed, reference, Citus local)
 * and its co-location group. Relations missing from pg_dist_partition are plain local tables.
 */
const tablesSql = `
SELECT p.logicalrelid::oid AS oid,
       p.partmethod AS method,
       p.repmodel AS replication,
       p.colocationid AS colocation,
       CASE WHEN p.partmethod = 'h' THEN column_to_column_name(p.logicalrelid, p.partkey) END AS column
  FROM pg_catalog.pg_dist_partition p
 WHERE p.logicalrelid::oid = ANY ($1::oid[])`

interface TableRow {
  oid: number
  method: string
  replication: string
  colocation: number
  column: string | null
}

/** The Citus facts of the checked relations, or null when the database has no Citus. */
export async function introspectCitus(
  client: ClientBase,
  relationOids: readonly number[],
): Promise<CitusFacts | null> {
  const { rows } = await client.query<{ present: boolean }>(presentSql)
  if (!rows[0]?.present) return null
  const tables = new Map<number, CitusTable>()
  for (const row of (await client.query<TableRow>(tablesSql, [relationOids])).rows) {
    const kind: CitusTable['kind'] =
      row.method === 'h' ? 'distributed' : row.replication === 't' ? 'reference' : 'citus-local'
    tables.set(Number(row.oid), {
      kind,
      distributionColumn: row.column,
      colocationId: Number(row.colocation),
    })
  }
  return { tables }
}
