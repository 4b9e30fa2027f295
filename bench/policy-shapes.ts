/**
 * `npm run bench:policies [-- --rounds 7 --executions 2000 --write]` (`--write`: bench/POLICY-SHAPES.md): what each RLS policy shape costs PostgreSQL
 * per statement, measured inside one backend (no network, no client), so the figures are the server's
 * own work: parse + plan + execute (custom plans, as for every execution of an unnamed statement or of a
 * named one PostgreSQL keeps re-planning) and execute alone (a cached generic plan). Same table, rows and
 * indexes for every shape; the statement is the demo's first page of `GET /items/`.
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { quoteIdentifier } from '@rowfence/core'
import { startTemporaryPostgres } from '@rowfence/tools'
import { median } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    executions: { type: 'string', default: '2000' },
    write: { type: 'boolean', default: false },
  },
})
const rounds = Number(args.rounds)
const executions = Number(args.executions)

const CONTEXT = `NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid`

interface Shape {
  readonly name: string
  readonly description: string
  /** Policies for table `t`; undefined: RLS off. */
  readonly policies?: (table: string) => string
}

/** The generated shape: a RESTRICTIVE floor plus one PERMISSIVE policy per command, both with the check. */
const perCommand = (table: string, check: string) => `
  CREATE POLICY floor ON ${table} AS RESTRICTIVE FOR ALL USING (${check}) WITH CHECK (${check});
  CREATE POLICY s ON ${table} FOR SELECT USING (${check});
  CREATE POLICY i ON ${table} FOR INSERT WITH CHECK (${check});
  CREATE POLICY u ON ${table} FOR UPDATE USING (${check}) WITH CHECK (${check});
  CREATE POLICY d ON ${table} FOR DELETE USING (${check});`

const SHAPES: readonly Shape[] = [
  { name: 'no RLS', description: 'RLS off (tenant only in WHERE): the baseline' },
  {
    name: 'generated',
    description:
      'as generated: RESTRICTIVE floor + PERMISSIVE per command, `(SELECT rowfence.current_tenant_id())`',
    policies: (t) => perCommand(t, 'tenant_id = (SELECT shapes.tid())'),
  },
  {
    name: 'floor + permissive true',
    description: 'the floor carries the tenant check, the per-command policy is `true`',
    policies: (t) => `
      CREATE POLICY floor ON ${t} AS RESTRICTIVE FOR ALL USING (tenant_id = (SELECT shapes.tid()))
        WITH CHECK (tenant_id = (SELECT shapes.tid()));
      CREATE POLICY a ON ${t} FOR ALL USING (true) WITH CHECK (true);`,
  },
  {
    name: 'one policy',
    description: 'one PERMISSIVE policy for all commands, no floor',
    policies: (t) => `CREATE POLICY a ON ${t} FOR ALL USING (tenant_id = (SELECT shapes.tid()))
      WITH CHECK (tenant_id = (SELECT shapes.tid()));`,
  },
  {
    name: 'plpgsql function',
    description: 'generated shape, the context function in PL/pgSQL (not inlined at plan time)',
    policies: (t) => perCommand(t, 'tenant_id = (SELECT shapes.tid_plpgsql())'),
  },
  {
    name: 'expression, sub-select',
    description: 'generated shape, the expression itself in the sub-select (no function)',
    policies: (t) => perCommand(t, `tenant_id = (SELECT ${CONTEXT})`),
  },
  {
    name: 'expression, no sub-select',
    description: 'generated shape, the expression with no sub-select: evaluated per row where it is a Filter',
    policies: (t) => perCommand(t, `tenant_id = ${CONTEXT}`),
  },
]

const tableOf = (shape: Shape) => quoteIdentifier(`items_${shape.name.replace(/\W+/g, '_')}`)

const postgres = await startTemporaryPostgres({ label: 'policy-shapes' })
try {
  const admin = new pg.Client(postgres.adminUrl)
  admin.on('error', () => undefined)
  await admin.connect()
  await admin.query(`
    CREATE ROLE shapes_app LOGIN PASSWORD 'shapes';
    CREATE SCHEMA shapes; GRANT USAGE ON SCHEMA shapes TO shapes_app;
    CREATE FUNCTION shapes.tid() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT ${CONTEXT} $$;
    CREATE FUNCTION shapes.tid_plpgsql() RETURNS uuid LANGUAGE plpgsql STABLE PARALLEL SAFE
      AS $$ BEGIN RETURN ${CONTEXT}; END $$;
    CREATE TABLE shapes.source AS
      SELECT md5('t' || (1 + floor(1000 * random() ^ 3))::int)::uuid AS tenant_id, gen_random_uuid() AS id,
             'title ' || g AS title
      FROM generate_series(1, 200000) g;`)
  for (const shape of SHAPES) {
    const table = tableOf(shape)
    await admin.query(`
      CREATE TABLE ${table} (tenant_id uuid NOT NULL, id uuid NOT NULL, title text NOT NULL,
        PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, title));
      INSERT INTO ${table} SELECT * FROM shapes.source;
      GRANT SELECT ON ${table} TO shapes_app;
      ${shape.policies ? `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY; ${shape.policies(table)}` : ''}
      CREATE FUNCTION shapes.${table.replace(/"/g, '')}_generic(n int, tenant uuid) RETURNS numeric LANGUAGE plpgsql AS $$
        DECLARE started timestamptz := clock_timestamp(); found bigint;
        BEGIN
          FOR i IN 1..n LOOP
            SELECT count(*) INTO found FROM (SELECT id FROM ${table} WHERE tenant_id = tenant ORDER BY title LIMIT 10) s;
          END LOOP;
          RETURN extract(epoch FROM clock_timestamp() - started) * 1e6 / n;
        END $$;`)
  }
  await admin.query(`
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA shapes TO shapes_app;
    CREATE FUNCTION shapes.custom(n int, tbl text, tenant uuid) RETURNS numeric LANGUAGE plpgsql AS $$
      DECLARE started timestamptz := clock_timestamp(); found bigint;
      BEGIN
        FOR i IN 1..n LOOP
          -- EXECUTE: parsed and planned for its values every time, like an unnamed statement.
          EXECUTE format('SELECT count(*) FROM (SELECT id FROM %s WHERE tenant_id = $1 ORDER BY title LIMIT 10) s', tbl)
            INTO found USING tenant;
        END LOOP;
        RETURN extract(epoch FROM clock_timestamp() - started) * 1e6 / n;
      END $$;
    GRANT EXECUTE ON FUNCTION shapes.custom(int, text, uuid) TO shapes_app;`)
  await admin.query('VACUUM ANALYZE')
  await admin.end()

  const url = new URL(postgres.adminUrl)
  url.username = 'shapes_app'
  url.password = 'shapes'
  const app = new pg.Client(url.toString())
  app.on('error', () => undefined)
  await app.connect()
  const tenant = (await app.query<{ id: string }>(`SELECT md5('t5')::uuid::text AS id`)).rows[0]!.id
  const version = (await app.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v
  const results = new Map<string, { custom: number[]; generic: number[] }>()
  for (let round = 0; round < rounds; round++) {
    for (const shape of round % 2 ? [...SHAPES].reverse() : SHAPES) {
      const table = tableOf(shape)
      await app.query('BEGIN')
      await app.query(`SELECT set_config('rowfence.tenant_id', $1, true)`, [tenant])
      const custom = await app.query<{ us: string }>(`SELECT shapes.custom($1, $2, $3) AS us`, [
        executions,
        table,
        tenant,
      ])
      await app.query(`SET LOCAL plan_cache_mode = force_generic_plan`)
      const generic = await app.query<{ us: string }>(
        `SELECT shapes.${table.replace(/"/g, '')}_generic($1, $2) AS us`,
        [executions, tenant],
      )
      await app.query('COMMIT')
      const entry = results.get(shape.name) ?? { custom: [], generic: [] }
      entry.custom.push(Number(custom.rows[0]!.us))
      entry.generic.push(Number(generic.rows[0]!.us))
      results.set(shape.name, entry)
    }
  }
  await app.end()

  const base = results.get('no RLS')!
  const [baseCustom, baseGeneric] = [median(base.custom), median(base.generic)]
  const lines = [
    `PostgreSQL µs per statement (median of ${rounds} rounds of ${executions} executions, one backend, 200k rows, tenant of ~5k)`,
    '',
    '| shape | custom plan: parse + plan + execute | vs no RLS | cached generic plan: execute | vs no RLS |',
    '| --- | --- | --- | --- | --- |',
    ...SHAPES.map((shape) => {
      const { custom, generic } = results.get(shape.name)!
      const [c, g] = [median(custom), median(generic)]
      const delta = (v: number, b: number) => `${v - b >= 0 ? '+' : '−'}${Math.abs(v - b).toFixed(1)}`
      return `| ${shape.name}: ${shape.description} | ${c.toFixed(1)} | ${delta(c, baseCustom)} | ${g.toFixed(1)} | ${delta(g, baseGeneric)} |`
    }),
  ]
  const table = `${lines.join('\n')}\n`
  process.stdout.write(table)
  if (args.write) {
    const target = new URL('./POLICY-SHAPES.md', import.meta.url)
    await writeFile(
      target,
      [
        '# What each RLS policy shape costs PostgreSQL',
        '',
        `Generated by \`npm run bench:policies -- --write\` on ${new Date().toISOString()} (PostgreSQL ${version}).`,
        'Each figure is measured inside one backend (a PL/pgSQL loop), so neither the network nor a client is in it.',
        'The left column is what an unnamed statement, or a named one PostgreSQL keeps re-planning, costs on every',
        'execution; the right one is what the same statement costs once its generic plan is cached, which is what',
        "rowfence's plan advisor gives statements whose plan does not depend on their values.",
        '',
        table,
      ].join('\n'),
    )
  }
} finally {
  await postgres.stop()
}
