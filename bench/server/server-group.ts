import cluster, { type Worker } from 'node:cluster'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { processCpu } from '../cpu.ts'
import { SERVER_CONFIG_VARIABLE, type ServerWorkerConfig } from './server-config.ts'

const workerScript = fileURLToPath(new URL('./server-worker.ts', import.meta.url))

export interface ServerGroup {
  readonly origin: string
  readonly workers: number
  /** Resident set size of all server processes together, in bytes (Linux /proc), or undefined. */
  rss(): number | undefined
  /** User + system CPU seconds all server processes have used so far, or undefined. */
  cpuSeconds(): number | undefined
  stop(): Promise<void>
}

/** VmRSS of one process from /proc, in bytes. */
export function processRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
    return kb ? Number(kb) * 1024 : undefined
  } catch {
    return undefined
  }
}

/**
 * Starts `workers` demo server processes with node:cluster, all on one port (the primary hands
 * incoming connections round-robin to the workers), and waits until every one listens.
 */
export async function startServerGroup(
  options: Omit<ServerWorkerConfig, 'port'> & { port: number; workers: number },
): Promise<ServerGroup> {
  cluster.setupPrimary({
    exec: workerScript,
    execArgv: ['--conditions=@rowfence/source', '--import', import.meta.resolve('tsx')],
    silent: false,
  })
  const config: ServerWorkerConfig = {
    appUrl: options.appUrl,
    poolSize: options.poolSize,
    jwtSecret: options.jwtSecret,
    port: options.port,
    contextKey: options.contextKey,
  }
  const env = { [SERVER_CONFIG_VARIABLE]: JSON.stringify(config), NODE_ENV: 'production' }
  const started: Worker[] = []
  const stop = async () => {
    await Promise.all(
      started.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve()
            const timer = setTimeout(() => worker.process.kill('SIGKILL'), 10_000)
            worker.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            worker.send({ type: 'stop' })
          }),
      ),
    )
  }
  try {
    await Promise.all(
      Array.from({ length: options.workers }, () => {
        const worker = cluster.fork(env)
        started.push(worker)
        return new Promise<void>((resolve, reject) => {
          const onExit = (code: number) => reject(new Error(`a bench server process exited with ${code}`))
          worker.once('exit', onExit)
          worker.on('message', (message: { type?: string }) => {
            if (message?.type !== 'ready') return
            worker.off('exit', onExit)
            resolve()
          })
        })
      }),
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {
    origin: `http://127.0.0.1:${options.port}`,
    workers: options.workers,
    rss() {
      let total = 0
      for (const worker of started) {
        const rss = worker.process.pid === undefined ? undefined : processRss(worker.process.pid)
        if (rss === undefined) return undefined
        total += rss
      }
      return total
    },
    cpuSeconds() {
      let total = 0
      for (const worker of started) {
        const cpu = worker.process.pid === undefined ? undefined : processCpu(worker.process.pid)
        if (cpu === undefined) return undefined
        total += cpu.seconds
      }
      return total
    },
    stop,
  }
}
