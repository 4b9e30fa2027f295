/**
 * The ORM phase: each adapter against (a) the same ORM with no RLS and no context and (b) that ORM's
 * documented RLS recipe (its transaction API with `set_config` by hand: BEGIN, set_config, query,
 * COMMIT), on loopback and behind the delay proxy, in interleaved rounds; plus the round trips one
 * adapter statement costs, counted on the wire.
 */
import { randomUUID } from 'node:crypto'
import { PrismaPg } from '@prisma/adapter-pg'
import { asTenant, withTenant } from '@rowfence/core'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { TenantPostgresDialect } from '@rowfence/kysely'
import { PrismaRowfence } from '@rowfence/prisma'
import { countRoundTrips } from '@rowfence/tools'
import { eq, sql as dsql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { pgSchema, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { PrismaClient } from '../../packages/prisma/test/generated/client.ts'
import { startDelayProxy } from '../delay-proxy.ts'
import { spreadOf, type Spread } from '../stats.ts'

export const ORMS = ['drizzle', 'kysely', 'prisma'] as const
export type Orm = (typeof ORMS)[number]
export const VARIANTS = ['no RLS', 'recipe', 'rowfence'] as const
export type Variant = (typeof VARIANTS)[number]
export const NETWORKS = ['loopback', 'proxy'] as const
export type Network = (typeof NETWORKS)[number]

export interface OrmPhaseOptions {
  readonly callers: number
  readonly pool: number
  readonly rounds: number
  readonly seconds: number
  readonly delayMs: number
  readonly log: (line: string) => void
}

export interface OrmPhaseResult {
  readonly callers: number
  readonly pool: number
  readonly rounds: number
  readonly seconds: number
  readonly delayMs: number
  readonly tenants: number
  readonly items: number
  /** Operations per second, per round. */
  readonly throughput: readonly {
    readonly orm: Orm
    readonly network: Network
    readonly variant: Variant
    readonly perSecond: Spread
  }[]
  /** rowfence / recipe and rowfence / no RLS, computed per round (neighbours in time), then the median. */
  readonly ratios: readonly {
    readonly orm: Orm
    readonly network: Network
    readonly vsRecipe: Spread
    readonly vsNoRls: Spread
  }[]
  /** Round trips (ReadyForQuery messages) of one adapter statement inside asTenant, and of the recipe. */
  readonly roundTrips: readonly { readonly orm: Orm; readonly rowfence: number; readonly recipe: number }[]
}

const TENANTS = 50
const ITEMS = 20

type Operation = (tenantId: string) => Promise<unknown>
interface Harness {
  readonly operations: Record<Variant, Operation>
  close(): Promise<void>
}

const items = pgTable('items', {
  tenantId: uuid('tenant_id').notNull(),
  id: uuid('id'),
  title: text('title'),
})
const plainItems = pgSchema('plain').table('items', {
  tenantId: uuid('tenant_id').notNull(),
  id: uuid('id'),
  title: text('title'),
})
interface KyselyDb {
  items: { tenant_id: string; id: string; title: string }
  'plain.items': { tenant_id: string; id: string; title: string }
}

function drizzleHarness(pool: pg.Pool): Harness {
  const plain = drizzle({ client: pool })
  const adapter = createTenantDrizzle(pool)
  return {
    operations: {
      'no RLS': (tenantId) => plain.select().from(plainItems).where(eq(plainItems.tenantId, tenantId)),
      recipe: (tenantId) =>
        plain.transaction(async (tx) => {
          await tx.execute(dsql`SELECT set_config('rowfence.tenant_id', ${tenantId}, true)`)
          return tx.select().from(items).where(eq(items.tenantId, tenantId))
        }),
      rowfence: (tenantId) =>
        asTenant({ tenantId }, () => adapter.select().from(items).where(eq(items.tenantId, tenantId))),
    },
    close: async () => undefined,
  }
}

function kyselyHarness(pool: pg.Pool): Harness {
  const plain = new Kysely<KyselyDb>({ dialect: new PostgresDialect({ pool }) })
  const adapter = new Kysely<KyselyDb>({ dialect: new TenantPostgresDialect({ pool }) })
  return {
    operations: {
      'no RLS': (tenantId) =>
        plain.selectFrom('plain.items').selectAll().where('tenant_id', '=', tenantId).execute(),
      recipe: (tenantId) =>
        plain.transaction().execute(async (trx) => {
          await sql`SELECT set_config('rowfence.tenant_id', ${tenantId}, true)`.execute(trx)
          return trx.selectFrom('items').selectAll().where('tenant_id', '=', tenantId).execute()
        }),
      rowfence: (tenantId) =>
        asTenant({ tenantId }, () =>
          adapter.selectFrom('items').selectAll().where('tenant_id', '=', tenantId).execute(),
        ),
    },
    close: async () => undefined,
  }
}

function prismaHarness(pool: pg.Pool): Harness {
  const plain = new PrismaClient({ adapter: new PrismaPg(pool, { schema: 'plain' }) })
  const recipeClient = new PrismaClient({ adapter: new PrismaPg(pool) })
  const adapter = new PrismaClient({ adapter: new PrismaRowfence(pool) })
  return {
    operations: {
      'no RLS': (tenantId) => plain.item.findMany({ where: { tenantId } }),
      // Prisma's RLS client-extension example: a batch transaction of set_config + the query.
      recipe: async (tenantId) =>
        (
          await recipeClient.$transaction(
            [
              recipeClient.$executeRaw`SELECT set_config('rowfence.tenant_id', ${tenantId}, true)`,
              recipeClient.item.findMany({ where: { tenantId } }),
            ],
            { maxWait: 60_000, timeout: 60_000 },
          )
        )[1],
      rowfence: (tenantId) => asTenant({ tenantId }, () => adapter.item.findMany({ where: { tenantId } })),
    },
    close: async () => {
      for (const client of [plain, recipeClient, adapter]) await client.$disconnect()
    },
  }
}

const harnesses: Record<Orm, (pool: pg.Pool) => Harness> = {
  drizzle: drizzleHarness,
  kysely: kyselyHarness,
  prisma: prismaHarness,
}

/** Tenants with ITEMS items each, in the RLS table and in an RLS-free copy (schema `plain`). */
async function seed(ownerUrl: string, appRole: string): Promise<string[]> {
  const owner = new pg.Pool({ connectionString: ownerUrl, max: 4 })
  try {
    await owner.query(`CREATE SCHEMA IF NOT EXISTS plain;
      CREATE TABLE IF NOT EXISTS plain.items (tenant_id uuid NOT NULL, id uuid NOT NULL, title text NOT NULL,
        PRIMARY KEY (tenant_id, id));
      GRANT USAGE ON SCHEMA plain TO ${appRole}; GRANT SELECT ON plain.items TO ${appRole};`)
    const tenants = Array.from({ length: TENANTS }, () => randomUUID())
    for (const [index, tenantId] of tenants.entries()) {
      await withTenant(owner, { tenantId }, async (tx) => {
        await tx.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenantId, `orm-bench-${index}`])
        const rows = Array.from({ length: ITEMS }, (_, item) => [randomUUID(), `t${item}`])
        for (const table of ['items', 'plain.items']) {
          await tx.query(
            `INSERT INTO ${table} (tenant_id, id, title) SELECT $1, unnest($2::uuid[]), unnest($3::text[])`,
            [tenantId, rows.map((row) => row[0]), rows.map((row) => row[1])],
          )
        }
      })
    }
    return tenants
  } finally {
    await owner.end()
  }
}

async function drive(
  tenants: readonly string[],
  operation: Operation,
  callers: number,
  seconds: number,
): Promise<number> {
  let next = 0
  let done = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        await operation(tenants[next++ % tenants.length]!)
        done++
      }
    }),
  )
  return done / ((performance.now() - started) / 1000)
}

/** Each variant must see exactly one tenant's ITEMS rows, or the comparison means nothing. */
async function verify(orm: Orm, variant: Variant, operation: Operation, tenantId: string): Promise<void> {
  const rows = (await operation(tenantId)) as { tenantId?: string; tenant_id?: string }[]
  const tenantsSeen = new Set(rows.map((row) => row.tenantId ?? row.tenant_id))
  if (rows.length !== ITEMS || tenantsSeen.size !== 1 || !tenantsSeen.has(tenantId)) {
    throw new Error(
      `${orm} ${variant}: ${rows.length} rows of ${tenantsSeen.size} tenant(s), expected ${ITEMS} of 1`,
    )
  }
}

async function countTrips(
  url: string,
  orm: Orm,
  tenantId: string,
): Promise<{ rowfence: number; recipe: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  const harness = harnesses[orm](pool)
  try {
    const counter = await countRoundTrips(pool)
    const trips = async (variant: Variant): Promise<number> => {
      await harness.operations[variant](tenantId) // prepares statements, loads the ORM's caches
      counter.reset()
      await harness.operations[variant](tenantId)
      return counter.readyForQuery
    }
    return { rowfence: await trips('rowfence'), recipe: await trips('recipe') }
  } finally {
    await harness.close()
    await pool.end()
  }
}

export async function runOrmPhase(
  database: { readonly ownerUrl: string; readonly appUrl: string; readonly appRole: string },
  options: OrmPhaseOptions,
): Promise<OrmPhaseResult> {
  const { log } = options
  const tenants = await seed(database.ownerUrl, database.appRole)
  log(
    `orm: ${TENANTS} tenants x ${ITEMS} items; ${options.callers} callers, pool ${options.pool}, ` +
      `${options.rounds} rounds of ${options.seconds} s`,
  )
  const target = new URL(database.appUrl)
  const proxy = await startDelayProxy({
    targetHost: target.hostname,
    targetPort: Number(target.port || 5432),
    delayMs: options.delayMs,
  })
  const perRound = new Map<string, number[]>()
  const key = (orm: Orm, network: Network, variant: Variant) => `${orm}|${network}|${variant}`
  try {
    for (const network of NETWORKS) {
      const url = network === 'loopback' ? database.appUrl : proxy.rewrite(database.appUrl)
      for (const orm of ORMS) {
        const pool = new pg.Pool({ connectionString: url, max: options.pool })
        const harness = harnesses[orm](pool)
        try {
          for (const variant of VARIANTS) {
            await verify(orm, variant, harness.operations[variant], tenants[0]!)
            await drive(tenants, harness.operations[variant], options.callers, options.seconds) // warm-up
          }
          for (let round = 0; round < options.rounds; round++) {
            // Rotate the order so no variant always runs first (or last) in a round.
            const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!)
            for (const variant of order) {
              const perSecond = await drive(
                tenants,
                harness.operations[variant],
                options.callers,
                options.seconds,
              )
              const list = perRound.get(key(orm, network, variant)) ?? []
              list.push(perSecond)
              perRound.set(key(orm, network, variant), list)
            }
          }
          log(
            `orm: ${orm} ${network}: ` +
              VARIANTS.map(
                (v) => `${v} ${spreadOf(perRound.get(key(orm, network, v))!).median.toFixed(0)}/s`,
              ).join(', '),
          )
        } finally {
          await harness.close()
          await pool.end()
        }
      }
    }
  } finally {
    await proxy.close()
  }
  const roundTrips = []
  for (const orm of ORMS) roundTrips.push({ orm, ...(await countTrips(database.appUrl, orm, tenants[0]!)) })

  const ratio = (a: readonly number[], b: readonly number[]) => spreadOf(a.map((value, i) => value / b[i]!))
  return {
    callers: options.callers,
    pool: options.pool,
    rounds: options.rounds,
    seconds: options.seconds,
    delayMs: options.delayMs,
    tenants: TENANTS,
    items: ITEMS,
    throughput: ORMS.flatMap((orm) =>
      NETWORKS.flatMap((network) =>
        VARIANTS.map((variant) => ({
          orm,
          network,
          variant,
          perSecond: spreadOf(perRound.get(key(orm, network, variant))!),
        })),
      ),
    ),
    ratios: ORMS.flatMap((orm) =>
      NETWORKS.map((network) => {
        const [noRls, recipe, rowfence] = VARIANTS.map((variant) => perRound.get(key(orm, network, variant))!)
        return { orm, network, vsRecipe: ratio(rowfence!, recipe!), vsNoRls: ratio(rowfence!, noRls!) }
      }),
    ),
    roundTrips,
  }
}
