import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { freePort } from '@rowfence/tools'

const bin = resolve(import.meta.dirname, '../../../apps/demo/bin/rowfence-demo.js')

/** The demo server as its own process (`rowfence-demo serve`), as production runs it. */
export class DemoServer {
  readonly url: string
  readonly #child: ChildProcess
  readonly #home: string
  #output = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  private constructor(child: ChildProcess, url: string, home: string) {
    this.#child = child
    this.url = url
    this.#home = home
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()))
    this.exited = new Promise((resolvePromise) =>
      child.once('exit', (code, signal) => resolvePromise({ code, signal })),
    )
  }

  /** Everything the process printed (stdout and stderr). */
  get output(): string {
    return this.#output
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  static async start(env: Record<string, string>): Promise<DemoServer> {
    const port = await freePort()
    const home = await mkdtemp(join(tmpdir(), 'rowfence-faults-home-'))
    const child = spawn(process.execPath, [bin, 'serve'], {
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        ROWFENCE_HOME: home,
        LOG_LEVEL: 'fatal',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const server = new DemoServer(child, `http://127.0.0.1:${port}`, home)
    const deadline = Date.now() + 60_000
    while (!server.#output.includes('rowfence demo is running at')) {
      if (!server.running) throw new Error(`the demo server exited during startup:\n${server.output}`)
      if (Date.now() > deadline) throw new Error(`the demo server did not start in time:\n${server.output}`)
      await new Promise((done) => setTimeout(done, 50))
    }
    return server
  }

  /** SIGTERM, then the exit status (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.#child.kill('SIGTERM')
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
      await rm(this.#home, { recursive: true, force: true })
    }
  }
}
