import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export type Preset = 'full' | 'quick' | 'smoke'
export type LoadKind = 'wrk' | 'node'

export interface BenchOptions {
  readonly preset: Preset
  /** Where RESULTS.md, the chart and results.json go. */
  readonly out: string
  readonly load: LoadKind
  /** Server processes (node:cluster workers). */
  readonly workers: number
  /** App-role pool size per server process. */
  readonly poolSize: number
  readonly rounds: number
  readonly tenants: number
  readonly items: number
  /** Tenants the HTTP and library scenarios rotate through. */
  readonly hotTenants: number
  /** `?limit=` of the HTTP and library scenarios. */
  readonly pageSize: number
  readonly concurrency: readonly number[]
  /** Per measurement; the built-in generator uses `requests` instead when set. */
  readonly seconds: number
  readonly requests: number | undefined
  readonly warmupSeconds: number
  readonly libraryCallers: readonly number[]
  /** Library slices are short and many: finer interleaving, same total time. */
  readonly libraryRounds: number
  readonly librarySeconds: number
  readonly delayMs: number
  readonly latencySeconds: number
  readonly scaleSeconds: number
  readonly memorySeconds: number
  readonly memoryConcurrency: number
  /** The ORM phase: interleaved rounds of `ormSeconds` per variant, 50 callers on a pool of 20. */
  readonly ormRounds: number
  readonly ormSeconds: number
}

const presets: Record<Preset, Omit<BenchOptions, 'preset' | 'out' | 'load' | 'workers'>> = {
  full: {
    poolSize: 10,
    rounds: 5,
    tenants: 10_000,
    items: 1_000_000,
    hotTenants: 1000,
    pageSize: 10,
    concurrency: [10, 50, 1000],
    seconds: 5,
    requests: undefined,
    warmupSeconds: 3,
    libraryCallers: [8, 50],
    libraryRounds: 8,
    librarySeconds: 1,
    delayMs: 2.5,
    latencySeconds: 3,
    scaleSeconds: 2,
    memorySeconds: 60,
    memoryConcurrency: 1000,
    ormRounds: 3,
    ormSeconds: 2,
  },
  quick: {
    poolSize: 10,
    rounds: 3,
    tenants: 1000,
    items: 100_000,
    hotTenants: 200,
    pageSize: 10,
    concurrency: [10, 50, 1000],
    seconds: 3,
    requests: undefined,
    warmupSeconds: 1,
    libraryCallers: [8, 50],
    libraryRounds: 6,
    librarySeconds: 0.5,
    delayMs: 2.5,
    latencySeconds: 2,
    scaleSeconds: 2,
    memorySeconds: 15,
    memoryConcurrency: 1000,
    ormRounds: 2,
    ormSeconds: 1,
  },
  // A few hundred requests in all: checks the plumbing and the report, measures nothing.
  smoke: {
    poolSize: 4,
    rounds: 1,
    tenants: 50,
    items: 2000,
    hotTenants: 20,
    pageSize: 10,
    concurrency: [4, 16],
    seconds: 1,
    requests: 40,
    warmupSeconds: 0,
    libraryCallers: [4],
    libraryRounds: 1,
    librarySeconds: 0.2,
    delayMs: 2.5,
    latencySeconds: 1,
    scaleSeconds: 1,
    memorySeconds: 1,
    memoryConcurrency: 16,
    ormRounds: 1,
    ormSeconds: 0.2,
  },
}

export const usage = `npm run bench -- [options]

Measures what rowfence's tenant isolation costs against a no-RLS baseline and the naive transaction
pattern, and writes RESULTS.md, results-chart.svg and results.json.

  --quick              shorter run (100k items, 3 rounds of 3 s): about 3 minutes
  --smoke              tiny run with the built-in load generator (what npm test runs)
  --load wrk|node      load generator (default wrk, installed with apt-get if missing; smoke: node)
  --workers N          server processes (default: one per core)
  --pool N             app-role pool size per server process (default 10)
  --rounds N           interleaved rounds (default 5)
  --seconds S          seconds per HTTP measurement (default 5)
  --concurrency LIST   HTTP connections, comma-separated (default 10,50,1000)
  --tenants N --items N   data set size (default 10000 tenants, 1000000 items)
  --memory-seconds S   length of the RSS run at c=1000 (default 60)
  --out DIR            where the report goes (default bench/)
  -h, --help

Environment: DATABASE_URL (owner role) + APP_DATABASE_URL (app role) use an existing PostgreSQL instead
of a temporary embedded one; the bench then creates schema "bench" and 'bench-tenant-*' rows there.`

function positive(name: string, raw: string | undefined, integer = true): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}`)
  }
  return value
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      load: { type: 'string' },
      workers: { type: 'string' },
      pool: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      tenants: { type: 'string' },
      items: { type: 'string' },
      'memory-seconds': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return 'help'
  if (values.quick && values.smoke) throw new Error('--quick and --smoke do not go together')
  const preset: Preset = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full'
  const base = presets[preset]
  const load = values.load ?? (preset === 'smoke' ? 'node' : 'wrk')
  if (load !== 'wrk' && load !== 'node') throw new Error('--load must be wrk or node')
  const concurrency = values.concurrency?.split(',').map((part) => positive('concurrency', part.trim())!)
  const tenants = positive('tenants', values.tenants) ?? base.tenants
  const items = positive('items', values.items) ?? base.items
  if (items < tenants) throw new Error('--items must be at least --tenants (every tenant gets an item)')
  const seconds = positive('seconds', values.seconds, false)
  return {
    ...base,
    preset,
    load,
    out: resolve(values.out ?? fileURLToPath(new URL('.', import.meta.url))),
    workers: positive('workers', values.workers) ?? availableParallelism(),
    poolSize: positive('pool', values.pool) ?? base.poolSize,
    rounds: positive('rounds', values.rounds) ?? base.rounds,
    libraryRounds: values.rounds ? 2 * positive('rounds', values.rounds)! : base.libraryRounds,
    seconds: seconds ?? base.seconds,
    // An explicit duration wins over the smoke preset's request count.
    requests: seconds !== undefined || load === 'wrk' ? undefined : base.requests,
    concurrency: concurrency ?? base.concurrency,
    tenants,
    items,
    hotTenants: Math.min(base.hotTenants, tenants),
    memorySeconds: positive('memory-seconds', values['memory-seconds'], false) ?? base.memorySeconds,
  }
}
