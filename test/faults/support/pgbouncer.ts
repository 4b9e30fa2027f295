import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '@rowfence/tools'

const run = promisify(execFile)

/** `PgBouncer 1.18.0` -> [1, 18]; undefined when the binary is missing or does not answer. */
export async function pgbouncerVersion(bin: string): Promise<[number, number] | undefined> {
  if (!existsSync(bin)) return undefined
  try {
    const { stdout } = await run(bin, ['--version'])
    const match = /PgBouncer (\d+)\.(\d+)/.exec(stdout)
    return match ? [Number(match[1]), Number(match[2])] : undefined
  } catch {
    return undefined
  }
}

/** A PgBouncer in transaction mode in front of one PostgreSQL, on a free loopback port. */
export class PgBouncer {
  readonly port: number
  readonly #child: ChildProcess
  readonly #dir: string
  #output = ''

  private constructor(child: ChildProcess, port: number, dir: string) {
    this.#child = child
    this.port = port
    this.#dir = dir
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()))
  }

  get output(): string {
    return this.#output
  }

  static async start(options: {
    bin: string
    serverPort: number
    users: readonly { user: string; password: string }[]
    poolSize: number
    /** PgBouncer >= 1.21: keep named prepared statements across transactions. */
    maxPreparedStatements?: number
  }): Promise<PgBouncer> {
    const dir = await mkdtemp(join(tmpdir(), 'rowfence-faults-pgbouncer-'))
    await chmod(dir, 0o755)
    const port = await freePort()
    const quote = (value: string) => `"${value.replace(/"/g, '""')}"`
    await writeFile(
      join(dir, 'users.txt'),
      options.users.map(({ user, password }) => `${quote(user)} ${quote(password)}`).join('\n') + '\n',
      { mode: 0o644 },
    )
    const lines = [
      '[databases]',
      `* = host=127.0.0.1 port=${options.serverPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 1000',
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
      ...(options.maxPreparedStatements
        ? [`max_prepared_statements = ${options.maxPreparedStatements}`]
        : []),
    ]
    await writeFile(join(dir, 'pgbouncer.ini'), lines.join('\n') + '\n', { mode: 0o644 })
    // PgBouncer refuses to run as root.
    const args = [...(userInfo().uid === 0 ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')]
    const child = spawn(options.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const bouncer = new PgBouncer(child, port, dir)
    const deadline = Date.now() + 15_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited:\n${bouncer.output}`)
      if (await accepts(port)) return bouncer
      if (Date.now() > deadline) throw new Error(`pgbouncer did not start:\n${bouncer.output}`)
      await new Promise((done) => setTimeout(done, 100))
    }
  }

  /** `url` with host and port replaced by the pooler's. */
  rewrite(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = '127.0.0.1'
    parsed.port = String(this.port)
    return parsed.toString()
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise((done) => this.#child.once('exit', done))
      this.#child.kill('SIGTERM')
      await exited
    }
    await rm(this.#dir, { recursive: true, force: true })
  }
}

async function accepts(port: number): Promise<boolean> {
  const { connect } = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}
