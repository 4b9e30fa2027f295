import { createHash } from 'node:crypto'
import pg from 'pg'
import { quoteIdentifier, TENANT_SETTING } from '@rowfence/core'
import { ProgressBar } from './progress.ts'

export interface BenchTenant {
  /** 1 is the largest tenant. */
  readonly rank: number
  readonly id: string
  readonly name: string
  readonly items: number
}

export interface DatasetShape {
  readonly tenants: readonly BenchTenant[]
  readonly items: number
}

/** A stable UUID per rank, so every run (and every machine) loads the same tenants. */
export function benchTenantId(rank: number): string {
  const hex = createHash('md5').update(`rowfence-bench-tenant/${rank}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/**
 * `items` spread over `tenants` with a Zipf skew (s = 1): the tenant of rank r gets a share proportional
 * to 1/r on top of one item each. With the defaults the largest tenant has ~100k items, the median
 * ~200 and the smallest ~10: a few large tenants and a long tail, as in real SaaS data.
 */
export function datasetShape(tenants: number, items: number): DatasetShape {
  if (!Number.isInteger(tenants) || tenants < 1) throw new RangeError('tenants must be a positive integer')
  if (!Number.isInteger(items) || items < tenants) throw new RangeError('items must be at least tenants')
  let harmonic = 0
  for (let rank = 1; rank <= tenants; rank++) harmonic += 1 / rank
  const spread = items - tenants
  const counts = Array.from({ length: tenants }, (_, i) => 1 + Math.floor(spread / ((i + 1) * harmonic)))
  // Rounding down leaves a few items over: they go to the largest tenants, one each.
  let left = items - counts.reduce((sum, count) => sum + count, 0)
  for (let i = 0; left > 0; i = (i + 1) % tenants, left--) counts[i]! += 1
  return {
    items,
    tenants: counts.map((count, i) => ({
      rank: i + 1,
      id: benchTenantId(i + 1),
      name: `bench-tenant-${String(i + 1).padStart(6, '0')}`,
      items: count,
    })),
  }
}

/** `count` tenants spread evenly over the ranks, largest to smallest. */
export function pickEvenly(tenants: readonly BenchTenant[], count: number): BenchTenant[] {
  if (count >= tenants.length) return [...tenants]
  const step = tenants.length / count
  return Array.from({ length: count }, (_, i) => tenants[Math.floor(i * step)]!)
}

/** The largest, the median and the smallest tenant: the scale scenario's three cases. */
export function scaleTenants(shape: DatasetShape): { label: string; tenant: BenchTenant }[] {
  const { tenants } = shape
  return [
    { label: 'largest', tenant: tenants[0]! },
    { label: 'median', tenant: tenants[Math.floor(tenants.length / 2)]! },
    { label: 'smallest', tenant: tenants.at(-1)! },
  ]
}

const prepareSql = (appRole: string) => `
CREATE SCHEMA bench;
-- The no-RLS baseline: same columns, keys and indexes as items (LIKE does not copy policies).
CREATE TABLE bench.items_plain (LIKE public.items INCLUDING ALL);
CREATE TABLE bench.dataset (tenants integer NOT NULL, items bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now());
GRANT USAGE ON SCHEMA bench TO ${quoteIdentifier(appRole)};
GRANT SELECT ON bench.items_plain TO ${quoteIdentifier(appRole)};`

/**
 * Runs as the owner role, one tenant at a time: the tables FORCE row-level security, so the owner can
 * only write the tenant whose context is set, exactly like the app. The same rows go into the no-RLS
 * copy from the RETURNING of the real insert. A temporary function, so it lives only in this session.
 */
const loaderSql = `
CREATE FUNCTION pg_temp.bench_load(tenant_ids uuid[], names text[], counts integer[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  total bigint := 0;
  added bigint;
BEGIN
  FOR i IN 1 .. array_length(tenant_ids, 1) LOOP
    PERFORM set_config('${TENANT_SETTING}', tenant_ids[i]::text, true);
    INSERT INTO public.tenants (id, name) VALUES (tenant_ids[i], names[i]);
    WITH inserted AS (
      INSERT INTO public.items (tenant_id, title)
      SELECT tenant_ids[i], substr(md5(tenant_ids[i]::text || '/' || g), 1, 10) || '-' || g
        FROM generate_series(1, counts[i]) AS g
      RETURNING tenant_id, id, title
    )
    INSERT INTO bench.items_plain (tenant_id, id, title) SELECT tenant_id, id, title FROM inserted;
    GET DIAGNOSTICS added = ROW_COUNT;
    total := total + added;
  END LOOP;
  PERFORM set_config('${TENANT_SETTING}', '', true);
  RETURN total;
END
$$`

/** Groups tenants into chunks of about `size` items (a large tenant is a chunk of its own). */
function chunksOf(tenants: readonly BenchTenant[], size: number): BenchTenant[][] {
  const chunks: BenchTenant[][] = []
  let current: BenchTenant[] = []
  let items = 0
  for (const tenant of tenants) {
    current.push(tenant)
    items += tenant.items
    if (items >= size) {
      chunks.push(current)
      current = []
      items = 0
    }
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

export type LoadOutcome = 'loaded' | 'reused'

/**
 * Loads the data set (or finds it already loaded by an earlier run against the same external
 * database), then VACUUM ANALYZE so every scenario sees the same visibility map and statistics.
 */
export async function loadDataset(
  ownerUrl: string,
  appRole: string,
  shape: DatasetShape,
  log: (line: string) => void,
): Promise<LoadOutcome> {
  const admin = new pg.Client(ownerUrl)
  await admin.connect()
  try {
    const { rows } = await admin.query<{ present: boolean }>(
      `SELECT to_regclass('bench.dataset') IS NOT NULL AS present`,
    )
    if (rows[0]?.present) {
      const marker = await admin.query<{ tenants: number; items: string }>(
        'SELECT tenants, items FROM bench.dataset',
      )
      const row = marker.rows[0]
      if (row && row.tenants === shape.tenants.length && Number(row.items) === shape.items) return 'reused'
      throw new Error(
        'This database holds bench data of another size (or an unfinished load): ' +
          'use a fresh database, or the embedded PostgreSQL (unset DATABASE_URL)',
      )
    }
    await admin.query('BEGIN')
    await admin.query(prepareSql(appRole))
    await admin.query('COMMIT')

    const progress = new ProgressBar('loading', shape.items, 'items')
    const queue = chunksOf(shape.tenants, Math.max(1000, Math.ceil(shape.items / 100)))
    const loaders = await Promise.all(
      [0, 1].map(async () => {
        const client = new pg.Client(ownerUrl)
        await client.connect()
        await client.query(loaderSql)
        return client
      }),
    )
    try {
      await Promise.all(
        loaders.map(async (client) => {
          for (let chunk = queue.shift(); chunk; chunk = queue.shift()) {
            await client.query('SELECT pg_temp.bench_load($1, $2, $3)', [
              chunk.map((tenant) => tenant.id),
              chunk.map((tenant) => tenant.name),
              chunk.map((tenant) => tenant.items),
            ])
            progress.tick(chunk.reduce((sum, tenant) => sum + tenant.items, 0))
          }
        }),
      )
    } finally {
      await Promise.all(loaders.map((client) => client.end()))
    }
    progress.finish()
    log('VACUUM ANALYZE ...')
    await admin.query('VACUUM (ANALYZE) public.tenants, public.items, bench.items_plain')
    await admin.query('INSERT INTO bench.dataset (tenants, items) VALUES ($1, $2)', [
      shape.tenants.length,
      shape.items,
    ])
    return 'loaded'
  } finally {
    await admin.end()
  }
}
