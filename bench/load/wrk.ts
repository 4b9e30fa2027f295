import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LoadGenerator, LoadResult, LoadSpec } from './load-types.ts'

const script = fileURLToPath(new URL('./wrk-report.lua', import.meta.url))

/** The line wrk-report.lua prints in its done() hook. */
interface WrkRaw {
  requests: number
  duration_us: number
  connect: number
  read: number
  write: number
  status: number
  timeout: number
  p50_us: number
  p90_us: number
  p99_us: number
  max_us: number
}

export function parseWrkOutput(stdout: string): LoadResult {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('WRK_RESULT '))
  if (!line) throw new Error(`wrk printed no result line:\n${stdout}`)
  const raw = JSON.parse(line.slice('WRK_RESULT '.length)) as WrkRaw
  const seconds = raw.duration_us / 1e6
  return {
    requests: raw.requests,
    seconds,
    requestsPerSecond: seconds > 0 ? raw.requests / seconds : 0,
    latency: {
      p50: raw.p50_us / 1000,
      p90: raw.p90_us / 1000,
      p99: raw.p99_us / 1000,
      max: raw.max_us / 1000,
    },
    errors: raw.connect + raw.read + raw.write + raw.timeout + raw.status,
    non2xx: raw.status,
  }
}

function wrkVersion(): string | undefined {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  if (probe.error) return undefined
  return /^wrk (\S+)/m.exec(`${probe.stdout}${probe.stderr}`)?.[1] ?? 'unknown'
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    )
  })
}

/**
 * wrk (the Debian package), installed with apt-get when missing and we are root. Elsewhere the bench
 * says how to install it, or to use the built-in generator (`--load node`).
 */
export async function ensureWrk(log: (line: string) => void): Promise<string> {
  const found = wrkVersion()
  if (found) return found
  const isRoot = process.getuid?.() === 0
  const hasApt = !spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error
  if (!isRoot || !hasApt) {
    throw new Error(
      'wrk is not installed and cannot be installed here (needs root and apt-get): ' +
        'install it (Debian/Ubuntu: apt-get install wrk) or run with --load node',
    )
  }
  log('wrk is missing: apt-get update && apt-get install -y wrk')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  await run('apt-get', ['update', '-qq'], env)
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], env)
  const installed = wrkVersion()
  if (!installed) throw new Error('apt-get installed wrk but it still does not run')
  return installed
}

export function wrkGenerator(version: string, options: { threads: number }): LoadGenerator {
  return {
    name: 'wrk',
    version,
    async run(spec: LoadSpec): Promise<LoadResult> {
      if (!spec.seconds) throw new Error('wrk runs for a duration: give `seconds`')
      const dir = await mkdtemp(join(tmpdir(), 'rowfence-bench-wrk-'))
      try {
        const list = join(dir, 'requests.tsv')
        await writeFile(
          list,
          spec.requests.map((request) => `${request.path}\t${request.authorization}\n`).join(''),
        )
        const threads = Math.max(1, Math.min(options.threads, spec.connections))
        const args = [
          `-t${threads}`,
          `-c${spec.connections}`,
          `-d${spec.seconds}s`,
          '--timeout',
          '10s',
          '-s',
          script,
          spec.origin,
          '--',
          list,
        ]
        const stdout = await new Promise<string>((resolve, reject) => {
          const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
          let out = ''
          let err = ''
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
          child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
          child.once('error', reject)
          child.once('exit', (code) =>
            code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}: ${err || out}`)),
          )
        })
        return parseWrkOutput(stdout)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
}
