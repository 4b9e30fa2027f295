/**
 * `npm run bench`: what rowfence's tenant isolation costs. Starts PostgreSQL, loads the data set, checks
 * the plans, starts the demo server (one process per core), then runs every phase in one invocation and
 * writes RESULTS.md, results-chart.svg and results.json. See `npm run bench -- --help`.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { PostgresCpu } from './cpu.ts'
import { openBenchDatabase, freePort } from './database.ts'
import { datasetShape, loadDataset, pickEvenly, scaleTenants } from './dataset.ts'
import { nodeGenerator } from './load/node-load.ts'
import { ensureWrk, wrkGenerator } from './load/wrk.ts'
import { parseOptions, usage, type BenchOptions } from './options.ts'
import type { BenchContext } from './phases/bench-context.ts'
import { runHttpPhase } from './phases/http.ts'
import { runLatencyPhase } from './phases/latency.ts'
import { runLibraryPhase } from './phases/library.ts'
import { runMemoryPhase } from './phases/memory.ts'
import { runSignedHttpPhase } from './phases/signed-http.ts'
import { runOrmPhase } from './phases/orm.ts'
import { checkPlans, PlanRegressionError } from './phases/plan-check.ts'
import { DefaultPlanRegressionError, runPlanRegressionPhase } from './phases/plan-regression.ts'
import { runScalePhase, SCALE_LIMIT } from './phases/scale.ts'
import { benchChart } from './report/bench-chart.ts'
import { describeMachine } from './report/machine.ts'
import { CHART_FILE, renderMarkdown } from './report/markdown.ts'
import { ormTargets } from './report/orm-section.ts'
import { evaluateTargets, planRegressionTarget } from './report/targets.ts'
import type { BenchResults } from './results.ts'
import { signTokens } from './scenarios.ts'
import { startServerGroup } from './server/server-group.ts'

const started = performance.now()
function log(line: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4)
  process.stderr.write(`[bench ${seconds}s] ${line}\n`)
}

/**
 * What must be undone if the run is interrupted (Ctrl-C): server processes, then PostgreSQL and its
 * temporary folder. Normal completion and errors undo the same things through try/finally.
 */
const undo: (() => Promise<void>)[] = []

/** Runs `body`, then `release`; an interrupt in between runs `release` too. */
async function withCleanup<T>(release: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  undo.push(release)
  try {
    return await body()
  } finally {
    undo.splice(undo.indexOf(release), 1)
    await release()
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the server processes and PostgreSQL ...`)
    void (async () => {
      for (const release of undo.reverse()) await release().catch(() => undefined)
      process.exit(130)
    })()
  })
}

async function bench(options: BenchOptions, command: string): Promise<BenchResults> {
  const startedAt = new Date().toISOString()
  const machine = describeMachine()
  const load =
    options.load === 'wrk' ? wrkGenerator(await ensureWrk(log), { threads: machine.cores }) : nodeGenerator()
  log(
    `${options.preset} run: ${options.tenants} tenants, ${options.items} items, load generator ${load.name}`,
  )

  const database = await openBenchDatabase(log)
  return withCleanup(database.close, async () => {
    const shape = datasetShape(options.tenants, options.items)
    const loadStarted = performance.now()
    const outcome = await loadDataset(database.ownerUrl, database.appRole, shape, log)
    const loadSeconds = (performance.now() - loadStarted) / 1000
    log(`data set ${outcome} (${loadSeconds.toFixed(0)} s)`)

    const plans = await checkPlans(database.appUrl, scaleTenants(shape), SCALE_LIMIT)
    log(`plans: ${plans.length} EXPLAINs keep tenant_id as an Index Cond`)
    const planRegression = await runPlanRegressionPhase(database, shape, options.preset, log)

    const postgresCpu = await PostgresCpu.open(database.appUrl)
    const hotTenants = pickEvenly(shape.tenants, options.hotTenants)
    const jwtSecret = randomBytes(32).toString('hex')
    const context: BenchContext = {
      options,
      load,
      shape,
      hotTenants,
      tokens: await signTokens(jwtSecret, [...hotTenants, ...scaleTenants(shape).map((s) => s.tenant)]),
      appUrl: database.appUrl,
      jwtSecret,
      postgresCpu,
      log,
    }

    const { http, scale, memory, library, latency } = await withCleanup(
      () => postgresCpu.close(),
      async () => {
        const servers = await startServerGroup({
          appUrl: database.appUrl,
          poolSize: options.poolSize,
          jwtSecret,
          port: await freePort(),
          workers: options.workers,
        })
        log(`${servers.workers} server process(es) on ${servers.origin}`)
        const serverPhases = await withCleanup(servers.stop, async () => ({
          http: await runHttpPhase(context, servers),
          scale: await runScalePhase(context, servers, plans),
          memory: await runMemoryPhase(context, servers),
        }))
        return {
          ...serverPhases,
          library: await runLibraryPhase(context),
          latency: await runLatencyPhase(context),
        }
      },
    )

    // Last: it adds its own tenants to the data set.
    const orm = await runOrmPhase(database, {
      callers: 50,
      pool: 20,
      rounds: options.ormRounds,
      seconds: options.ormSeconds,
      delayMs: options.delayMs,
      log,
    })

    // Truly last: it migrates the database on to the signed context the demo runs.
    const signedCpu = await PostgresCpu.open(database.appUrl)
    const signedHttp = await withCleanup(
      () => signedCpu.close(),
      () => runSignedHttpPhase({ ...context, postgresCpu: signedCpu }, database),
    )

    const targets = [
      ...evaluateTargets({ http, library, latency, scale, memory }),
      planRegressionTarget(planRegression),
      ...ormTargets(orm),
    ]
    return {
      startedAt,
      seconds: (performance.now() - started) / 1000,
      command,
      machine,
      loadAverageAtEnd: loadavg()[0] ?? 0,
      loadGenerator: { name: load.name, version: load.version },
      options,
      database: { embedded: database.embedded, settings: database.settings },
      dataset: {
        tenants: shape.tenants.length,
        items: shape.items,
        largest: shape.tenants[0]!.items,
        median: shape.tenants[Math.floor(shape.tenants.length / 2)]!.items,
        smallest: shape.tenants.at(-1)!.items,
        outcome,
        loadSeconds,
      },
      http,
      scale,
      planRegression,
      memory,
      library,
      latency,
      orm,
      signedHttp,
      targets,
    }
  })
}

async function main(argv: string[]): Promise<number> {
  let options
  try {
    options = parseOptions(argv)
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`)
    return 2
  }
  if (options === 'help') {
    console.log(usage)
    return 0
  }
  const command = ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ')
  try {
    const results = await bench(options, command)
    await mkdir(options.out, { recursive: true })
    await writeFile(join(options.out, 'RESULTS.md'), renderMarkdown(results))
    await writeFile(join(options.out, CHART_FILE), benchChart(results))
    await writeFile(join(options.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
    log(`wrote ${join(options.out, 'RESULTS.md')}, ${CHART_FILE} and results.json`)
    console.log('\nTargets:')
    for (const target of results.targets) {
      const mark = target.met === undefined ? 'n/a ' : target.met ? 'MET ' : 'MISS'
      console.log(`  ${mark} ${target.name}: ${target.measured}  [${target.target}]`)
    }
    return 0
  } catch (error) {
    if (error instanceof PlanRegressionError || error instanceof DefaultPlanRegressionError) {
      console.error(`\nPLAN REGRESSION: ${error.message}`)
      return 1
    }
    console.error('bench failed:', error)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
