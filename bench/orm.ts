/**
 * `npm run bench:orm`: the ORM adapters against (a) the same ORM with no RLS and no context and (b) the ORM's
 * documented RLS recipe (an ORM transaction with `set_config` by hand: BEGIN, set_config, query, COMMIT), on
 * loopback and behind the 2.5 ms delay proxy, 50 callers. Writes the table into bench/RESULTS.md between
 * the `orm-phase` markers (and prints it).
 */
import { randomUUID } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { loadavg, cpus } from 'node:os'
import { join } from 'node:path'
import { PrismaPg } from '@prisma/adapter-pg'
import { asTenant, withTenant } from '@rowfence/core'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { TenantPostgresDialect } from '@rowfence/kysely'
import { PrismaRowfence } from '@rowfence/prisma'
import { and, eq, sql as dsql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { pgSchema, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { PrismaClient } from '../packages/prisma/test/generated/client.ts'
import { openBenchDatabase } from './database.ts'
import { startDelayProxy } from './delay-proxy.ts'

const CALLERS = Number(process.env['ORM_BENCH_CALLERS'] ?? 50)
const SECONDS = Number(process.env['ORM_BENCH_SECONDS'] ?? 4)
const POOL = Number(process.env['ORM_BENCH_POOL'] ?? 20)
const TENANTS = 50
const ITEMS = 20

function log(line: string): void {
  process.stderr.write(`[bench:orm] ${line}\n`)
}

type Operation = (tenantId: string) => Promise<unknown>
type Variant = 'no RLS' | 'recipe' | 'rowfence'
interface Row {
  orm: string
  network: string
  variant: Variant
  perSecond: number
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

async function drive(tenants: readonly string[], operation: Operation): Promise<number> {
  let next = 0
  let done = 0
  const deadline = performance.now() + SECONDS * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < deadline) {
        await operation(tenants[next++ % tenants.length]!)
        done++
      }
    }),
  )
  return done / ((performance.now() - started) / 1000)
}

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
        for (let item = 0; item < ITEMS; item++) {
          const id = randomUUID()
          await tx.query('INSERT INTO items (tenant_id, id, title) VALUES ($1, $2, $3)', [
            tenantId,
            id,
            `t${item}`,
          ])
          await tx.query('INSERT INTO plain.items (tenant_id, id, title) VALUES ($1, $2, $3)', [
            tenantId,
            id,
            `t${item}`,
          ])
        }
      })
    }
    return tenants
  } finally {
    await owner.end()
  }
}

function drizzleOperations(pool: pg.Pool): Record<Variant, Operation> {
  const plain = drizzle({ client: pool })
  const adapter = createTenantDrizzle(pool)
  return {
    'no RLS': (tenantId) => plain.select().from(plainItems).where(eq(plainItems.tenantId, tenantId)),
    recipe: (tenantId) =>
      plain.transaction(async (tx) => {
        await tx.execute(dsql`SELECT set_config('rowfence.tenant_id', ${tenantId}, true)`)
        return tx.select().from(items).where(eq(items.tenantId, tenantId))
      }),
    rowfence: (tenantId) =>
      asTenant({ tenantId }, () =>
        adapter
          .select()
          .from(items)
          .where(and(eq(items.tenantId, tenantId))),
      ),
  }
}

function kyselyOperations(pool: pg.Pool): Record<Variant, Operation> {
  const plain = new Kysely<KyselyDb>({ dialect: new PostgresDialect({ pool }) })
  const adapter = new Kysely<KyselyDb>({ dialect: new TenantPostgresDialect({ pool }) })
  return {
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
  }
}

function prismaOperations(pool: pg.Pool): {
  operations: Record<Variant, Operation>
  clients: PrismaClient[]
} {
  const plain = new PrismaClient({ adapter: new PrismaPg(pool, { schema: 'plain' }) })
  const recipeClient = new PrismaClient({ adapter: new PrismaPg(pool) })
  const adapter = new PrismaClient({ adapter: new PrismaRowfence(pool) })
  return {
    clients: [plain, recipeClient, adapter],
    operations: {
      'no RLS': (tenantId) => plain.item.findMany({ where: { tenantId } }),
      // Prisma's RLS client-extension example: a batch transaction of set_config + the query.
      recipe: (tenantId) =>
        recipeClient.$transaction(
          [
            recipeClient.$executeRaw`SELECT set_config('rowfence.tenant_id', ${tenantId}, true)`,
            recipeClient.item.findMany({ where: { tenantId } }),
          ],
          { maxWait: 60_000, timeout: 60_000 },
        ),
      rowfence: (tenantId) => asTenant({ tenantId }, () => adapter.item.findMany({ where: { tenantId } })),
    },
  }
}

async function main(): Promise<void> {
  const database = await openBenchDatabase(log)
  const rows: Row[] = []
  try {
    const tenants = await seed(database.ownerUrl, database.appRole)
    log(`${TENANTS} tenants x ${ITEMS} items; ${CALLERS} callers, pool ${POOL}, ${SECONDS} s per measurement`)
    const target = new URL(database.appUrl)
    const proxy = await startDelayProxy({
      targetHost: target.hostname,
      targetPort: Number(target.port || 5432),
      delayMs: 2.5,
    })
    try {
      for (const [network, url] of [
        ['loopback', database.appUrl],
        ['2.5 ms proxy', proxy.rewrite(database.appUrl)],
      ] as const) {
        for (const orm of ['drizzle', 'kysely', 'prisma'] as const) {
          const pool = new pg.Pool({ connectionString: url, max: POOL })
          const prisma = orm === 'prisma' ? prismaOperations(pool) : undefined
          const operations =
            orm === 'drizzle'
              ? drizzleOperations(pool)
              : orm === 'kysely'
                ? kyselyOperations(pool)
                : prisma!.operations
          try {
            for (const variant of ['no RLS', 'recipe', 'rowfence'] as const) {
              // A check that each variant sees the tenant's rows (and only them), then a warm-up.
              const seen = (await operations[variant](tenants[0]!)) as unknown[]
              const rowsSeen = Array.isArray(seen[1]) ? (seen[1] as unknown[]).length : seen.length
              if (rowsSeen !== ITEMS)
                throw new Error(`${orm} ${variant}: ${rowsSeen} rows, expected ${ITEMS}`)
              await drive(tenants, operations[variant]).catch(() => undefined) // warm-up
              const perSecond = await drive(tenants, operations[variant]).catch((error: unknown) => {
                log(
                  `${orm} ${network} ${variant} failed: ${String(error)
                    .split('\n')
                    .find((line) => line.trim())}`,
                )
                return NaN
              })
              rows.push({ orm, network, variant, perSecond })
              log(`${orm} ${network} ${variant}: ${perSecond.toFixed(0)}/s`)
            }
          } finally {
            for (const client of prisma?.clients ?? []) await client.$disconnect()
            await pool.end()
          }
        }
      }
    } finally {
      await proxy.close()
    }
  } finally {
    await database.close()
  }
  const table = render(rows)
  console.log(table)
  const file = join(import.meta.dirname, 'RESULTS.md')
  const current = await readFile(file, 'utf8').catch(() => '')
  const start = '<!-- orm-phase:start -->'
  const end = '<!-- orm-phase:end -->'
  const block = `${start}\n${table}\n${end}`
  const next =
    current.includes(start) && current.includes(end)
      ? current.slice(0, current.indexOf(start)) + block + current.slice(current.indexOf(end) + end.length)
      : `${current.trimEnd()}\n\n${block}\n`
  await writeFile(file, next)
}

function render(rows: readonly Row[]): string {
  const lines = [
    `## ORM adapters (\`npm run bench:orm\`, ${new Date().toISOString().slice(0, 16)}Z)`,
    '',
    `${CALLERS} callers, pool of ${POOL}, ${SECONDS} s per measurement after a warm-up of the same length; each`,
    `operation lists one tenant's ${ITEMS} items through the ORM. **no RLS**: the same ORM on a copy of the table`,
    `without RLS, tenant in WHERE. **recipe**: the ORM's documented RLS recipe (its transaction API with`,
    '`set_config` by hand: BEGIN, set_config, query, COMMIT). **rowfence**: the adapter inside `asTenant()`',
    '(set_config + query in one Sync group: 1 round trip, counted in the adapter tests).',
    '',
    `Machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end of the run (other`,
    'processes included): on a loaded machine the figures are CPU-bound and the delay proxy barely shows.',
    '',
    '| ORM | network | no RLS ops/s | recipe ops/s | rowfence ops/s | rowfence / recipe | rowfence / no RLS |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const orm of ['drizzle', 'kysely', 'prisma']) {
    for (const network of ['loopback', '2.5 ms proxy']) {
      const get = (variant: Variant) =>
        rows.find((row) => row.orm === orm && row.network === network && row.variant === variant)
          ?.perSecond ?? NaN
      const [plain, recipe, rowfence] = [get('no RLS'), get('recipe'), get('rowfence')]
      lines.push(
        `| ${orm} | ${network} | ${plain.toFixed(0)} | ${recipe.toFixed(0)} | ${rowfence.toFixed(0)} | ${(rowfence / recipe).toFixed(2)}× | ${(rowfence / plain).toFixed(2)}× |`,
      )
    }
  }
  return lines.join('\n')
}

await main()
