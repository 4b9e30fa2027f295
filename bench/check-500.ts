/**
 * `npm run bench:check`: how long `rowfence check` takes on a schema with 500 tenant tables (issue 7
 * asks for under 2 seconds). Builds the schema in a scratch database, then times checkDatabase() with
 * plans (every table EXPLAINed as the app role) and without.
 *
 * Uses BENCH_DATABASE_URL or DATABASE_URL (a role that may create databases and roles, on a disposable
 * server), else starts embedded PostgreSQL in a temp folder. Everything it creates is dropped at the end.
 */
import { randomBytes } from 'node:crypto'
import { startTemporaryPostgres } from '@rowfence/tools'
import pg from 'pg'
import { quoteIdentifier } from '@rowfence/core'
import { checkDatabase } from '@rowfence/core/check'

const TABLES = Number(process.env['BENCH_TABLES'] ?? 500)
/** BENCH_BROKEN=1: tables with typical mistakes (not forced, per-row context, serial ids, global keys). */
const BROKEN = process.env['BENCH_BROKEN'] === '1'
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5)
const BUDGET_MS = 2000

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = process.env['BENCH_DATABASE_URL'] ?? process.env['DATABASE_URL']
  if (url) return { url, stop: async () => undefined }
  const server = await startTemporaryPostgres({ label: 'bench' })
  return { url: server.adminUrl, stop: () => server.stop() }
}

/** 500 tables shaped like the demo's: forced RLS, floor + access policy, composite keys, a parent FK. */
function schemaSql(app: string): string {
  const statements = [
    `CREATE SCHEMA ctx`,
    `CREATE FUNCTION ctx.tenant() RETURNS uuid LANGUAGE sql STABLE
       AS $$ SELECT NULLIF(current_setting('bench.tenant_id', true), '')::uuid $$`,
    `GRANT USAGE ON SCHEMA ctx TO ${app}`,
  ]
  for (let i = 0; i < TABLES; i++) {
    const table = `t${String(i).padStart(3, '0')}`
    const parent = i > 0 ? `t${String(i - 1).padStart(3, '0')}` : null
    const context = BROKEN ? 'ctx.tenant()' : '(SELECT ctx.tenant())'
    statements.push(
      BROKEN
        ? `CREATE TABLE public.${table} (tenant_id uuid NOT NULL, id bigserial PRIMARY KEY, name text UNIQUE)`
        : `CREATE TABLE public.${table} (
             tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), name text NOT NULL,
             parent_id uuid,
             PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, name)
             ${parent ? `, FOREIGN KEY (tenant_id, parent_id) REFERENCES public.${parent} (tenant_id, id)` : ''})`,
      `ALTER TABLE public.${table} ENABLE ROW LEVEL SECURITY`,
      ...(BROKEN ? [] : [`ALTER TABLE public.${table} FORCE ROW LEVEL SECURITY`]),
      `CREATE POLICY ${table}_floor ON public.${table} AS RESTRICTIVE
         USING (tenant_id = ${context}) WITH CHECK (tenant_id = ${context})`,
      `CREATE POLICY ${table}_access ON public.${table}
         USING (tenant_id = ${context}) WITH CHECK (tenant_id = ${context})`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON public.${table} TO ${app}`,
    )
  }
  return statements.join(';\n')
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function main(): Promise<void> {
  const server = await startServer()
  const suffix = randomBytes(4).toString('hex')
  const database = `rowfence_bench_${suffix}`
  const app = `rowfence_bench_app_${suffix}`
  const admin = new pg.Client(server.url)
  await admin.connect()
  try {
    await admin.query(`CREATE ROLE ${quoteIdentifier(app)} NOLOGIN`)
    await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`)
    const url = new URL(server.url)
    url.pathname = `/${database}`
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 })
    try {
      const started = performance.now()
      await pool.query(schemaSql(quoteIdentifier(app)))
      console.log(`built ${TABLES} tenant tables in ${Math.round(performance.now() - started)} ms`)

      for (const plans of [true, false]) {
        const times: number[] = []
        const cpu: number[] = []
        let findings = -1
        let tables = 0
        await checkDatabase(pool, { appRole: app, plans }) // warm-up (connection, catalog caches)
        for (let run = 0; run < RUNS; run++) {
          const t0 = performance.now()
          const cpu0 = process.cpuUsage()
          const report = await checkDatabase(pool, { appRole: app, plans })
          times.push(performance.now() - t0)
          const used = process.cpuUsage(cpu0)
          cpu.push((used.user + used.system) / 1000)
          findings = report.findings.length
          tables = report.tenantTables.length
        }
        const label =
          (BROKEN ? '(broken) ' : '') +
          (plans ? 'with plans (EXPLAIN per table as the app role)' : 'without plans (--no-plans)')
        console.log(
          `check of ${tables} tenant tables ${label}: median ${Math.round(median(times))} ms, ` +
            `min ${Math.round(Math.min(...times))} ms, max ${Math.round(Math.max(...times))} ms ` +
            `over ${RUNS} runs; ${findings} finding(s); this process's CPU median ${Math.round(median(cpu))} ms ` +
            `(the rest is the server and waiting: compare this figure on a loaded machine)`,
        )
        if (plans) {
          const verdict = median(times) < BUDGET_MS ? 'within' : 'OVER'
          console.log(`budget: ${verdict} the ${BUDGET_MS} ms target of issue 7`)
        }
      }
    } finally {
      await pool.end()
    }
  } finally {
    await admin
      .query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`)
      .catch(() => undefined)
    await admin.query(`DROP ROLE IF EXISTS ${quoteIdentifier(app)}`).catch(() => undefined)
    await admin.end()
    await server.stop()
  }
}

await main()
