import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asPostgres, connectionUrl, freePort, giveToPostgres } from '@rowfence/tools'

/** The PostgreSQL whose server binaries the fault tests drive (pg_ctl start / stop -m immediate). */
export const PG_BIN = process.env['ROWFENCE_FAULTS_PG_BIN'] || '/usr/lib/postgresql/15/bin'

export function postgresAvailable(): boolean {
  return existsSync(join(PG_BIN, 'pg_ctl'))
}

/**
 * A PostgreSQL cluster that can be killed and restarted in place (same port, same data): `pg_ctl stop
 * -m immediate` is a crash as far as clients are concerned (connections cut, crash recovery on start).
 */
export class KillablePostgres {
  readonly dir: string
  readonly port: number
  readonly password: string
  readonly adminUrl: string

  private constructor(dir: string, port: number, password: string) {
    this.dir = dir
    this.port = port
    this.password = password
    this.adminUrl = connectionUrl({ user: 'postgres', password, port, database: 'postgres' })
  }

  static async create(settings: Record<string, string | number> = {}): Promise<KillablePostgres> {
    const dir = await mkdtemp(join(tmpdir(), 'rowfence-faults-pg-'))
    await chmod(dir, 0o755)
    const password = randomBytes(16).toString('hex')
    await writeFile(join(dir, 'pw'), `${password}\n`)
    await giveToPostgres(dir, join(dir, 'pw'))
    const server = new KillablePostgres(dir, await freePort(), password)
    await asPostgres(join(PG_BIN, 'initdb'), [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${join(dir, 'pw')}`,
      '--no-sync',
    ])
    server.#options = [
      `-p ${server.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c max_connections=200',
      ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
    ].join(' ')
    await server.start()
    return server
  }

  #options = ''

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    await asPostgres(join(PG_BIN, 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      this.#options,
      'start',
    ])
  }

  /** Kills the server: no checkpoint, every connection cut. */
  async kill(): Promise<void> {
    await asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'])
  }

  async destroy(): Promise<void> {
    await asPostgres(join(PG_BIN, 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-m',
      'immediate',
      '-w',
      'stop',
    ]).catch(() => undefined)
    await rm(this.dir, { recursive: true, force: true })
  }
}
