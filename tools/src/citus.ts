import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { connectionUrl, freePort } from './postgres.ts'
import { asPostgres, giveToPostgres } from './server-process.ts'

const run = promisify(execFile)

/** Where Citus is looked for when ROWFENCE_CITUS_PG_BIN is not set: Debian's PostgreSQL 15. */
export const DEFAULT_CITUS_PG_BIN = '/usr/lib/postgresql/15/bin'

/** What to tell a user whose machine has no Citus. */
export const CITUS_INSTALL_HINT =
  'Citus was not found. Install Citus for PostgreSQL 15 (Citus packages from citusdata, or in this repository ' +
  "CI's `bash ../shared/vendor/install.sh citus`, which builds Citus 13.2 into Debian's PostgreSQL 15), or set " +
  'ROWFENCE_CITUS_PG_BIN to the bin directory of a PostgreSQL installation with Citus (it must hold pg_config, ' +
  'initdb, pg_ctl).'

/**
 * The bin directory of a PostgreSQL installation that has Citus (`citus.so` in its `pg_config --pkglibdir`),
 * from ROWFENCE_CITUS_PG_BIN or Debian's PostgreSQL 15; undefined when there is none.
 */
export async function findCitus(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const bin = env['ROWFENCE_CITUS_PG_BIN'] || DEFAULT_CITUS_PG_BIN
  const pgConfig = join(bin, 'pg_config')
  if (!existsSync(pgConfig) || !existsSync(join(bin, 'pg_ctl'))) return undefined
  const libdir = (await run(pgConfig, ['--pkglibdir'])).stdout.trim()
  return existsSync(join(libdir, 'citus.so')) ? bin : undefined
}

export interface CitusNode {
  readonly name: 'coordinator' | `worker${number}`
  readonly port: number
  readonly dataDir: string
}

export interface CitusClusterOptions {
  /** PostgreSQL bin directory with Citus (see findCitus). */
  readonly bin: string
  /** Folder for the nodes' data directories and logs; a fresh temp folder when absent. Created if missing. */
  readonly dir?: string | undefined
  /** Number of workers (2 by default). */
  readonly workers?: number | undefined
  /** Extra `-c name=value` server settings for every node. */
  readonly settings?: Readonly<Record<string, string | number>> | undefined
}

/** One login role the coordinator uses towards the workers (and itself), with its password. */
export interface CitusRole {
  readonly role: string
  readonly password: string
}

/**
 * A local Citus cluster on loopback: a coordinator and workers, each its own PostgreSQL with
 * `shared_preload_libraries = 'citus'`, password authentication everywhere. The coordinator reaches the
 * nodes with the passwords in `pg_dist_authinfo` (per database, see prepareDatabase).
 */
export class CitusCluster {
  readonly bin: string
  readonly dir: string
  readonly superuserPassword: string
  readonly nodes: readonly CitusNode[]
  readonly #ownsDir: boolean

  private constructor(bin: string, dir: string, password: string, nodes: CitusNode[], ownsDir: boolean) {
    this.bin = bin
    this.dir = dir
    this.superuserPassword = password
    this.nodes = nodes
    this.#ownsDir = ownsDir
  }

  get coordinator(): CitusNode {
    return this.nodes[0]!
  }

  get workers(): readonly CitusNode[] {
    return this.nodes.slice(1)
  }

  /** The superuser on the coordinator (or another node), connected to `database`. */
  adminUrl(database = 'postgres', node: CitusNode = this.coordinator): string {
    return connectionUrl({ user: 'postgres', password: this.superuserPassword, port: node.port, database })
  }

  /** A role's URL on the coordinator. */
  url(role: CitusRole, database: string): string {
    return connectionUrl({ user: role.role, password: role.password, port: this.coordinator.port, database })
  }

  /** Initializes and starts the nodes, and joins the workers to the coordinator in the `postgres` database. */
  static async start(options: CitusClusterOptions): Promise<CitusCluster> {
    const ownsDir = options.dir === undefined
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'rowfence-citus-')))
    await mkdir(dir, { recursive: true })
    await chmod(dir, 0o755)
    await giveToPostgres(dir)
    const password = randomBytes(16).toString('hex')
    const passwordFile = join(dir, 'pw')
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
    await giveToPostgres(passwordFile)
    const nodes: CitusNode[] = []
    for (let index = 0; index <= (options.workers ?? 2); index += 1) {
      const name = index === 0 ? 'coordinator' : (`worker${index}` as const)
      nodes.push({ name, port: await freePort(), dataDir: join(dir, name) })
    }
    const cluster = new CitusCluster(options.bin, dir, password, nodes, ownsDir)
    try {
      await Promise.all(nodes.map((node) => cluster.#initNode(node, passwordFile, options.settings ?? {})))
      await rm(passwordFile, { force: true })
      await cluster.prepareDatabase('postgres')
    } catch (error) {
      await cluster.stop()
      throw error
    }
    return cluster
  }

  async #initNode(
    node: CitusNode,
    passwordFile: string,
    settings: Readonly<Record<string, string | number>>,
  ): Promise<void> {
    await asPostgres(join(this.bin, 'initdb'), [
      '-D',
      node.dataDir,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '--no-sync',
    ])
    const options = {
      port: node.port,
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.dir,
      shared_preload_libraries: 'citus',
      fsync: 'off',
      max_connections: 200,
      max_prepared_transactions: 200,
      ...settings,
    }
    await asPostgres(join(this.bin, 'pg_ctl'), [
      '-D',
      node.dataDir,
      '-l',
      join(this.dir, `${node.name}.log`),
      '-w',
      '-t',
      '60',
      '-o',
      Object.entries(options)
        .map(([name, value]) => `-c ${name}=${value}`)
        .join(' '),
      'start',
    ])
  }

  async #onNode<T>(node: CitusNode, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(this.adminUrl(database, node))
    await client.connect()
    try {
      return await fn(client)
    } finally {
      await client.end()
    }
  }

  /**
   * Makes `database` (which must exist on the coordinator) a Citus database: creates it on the workers
   * (same owner) if missing, the extension on every node, the superuser's connection password (see
   * authorize), and joins the workers. Idempotent.
   */
  async prepareDatabase(database: string): Promise<void> {
    const owner = await this.#onNode(this.coordinator, 'postgres', async (client) => {
      const { rows } = await client.query<{ owner: string }>(
        'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
        [database],
      )
      return rows[0]?.owner
    })
    if (owner === undefined) throw new Error(`Database ${database} does not exist on the coordinator`)
    for (const worker of this.workers) {
      await this.#onNode(worker, 'postgres', async (client) => {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
        if (!rowCount) await formatted(client, 'CREATE DATABASE %I OWNER %I', database, owner)
      })
    }
    for (const node of this.nodes) {
      await this.#onNode(node, database, (client) => client.query('CREATE EXTENSION IF NOT EXISTS citus'))
    }
    await this.authorize(database, [])
    await this.#onNode(this.coordinator, database, async (client) => {
      await client.query(`SELECT citus_set_coordinator_host('127.0.0.1', $1)`, [this.coordinator.port])
      for (const worker of this.workers) {
        await client.query(`SELECT citus_add_node('127.0.0.1', $1)`, [worker.port])
      }
    })
  }

  /**
   * Records the passwords the nodes use to reach each other (and themselves) as each role, in every
   * node's pg_dist_authinfo of `database`; the superuser's always. The roles must exist.
   */
  async authorize(database: string, roles: readonly CitusRole[]): Promise<void> {
    for (const node of this.nodes) await this.#authorizeOn(node, database, roles)
  }

  async #authorizeOn(node: CitusNode, database: string, roles: readonly CitusRole[]): Promise<void> {
    await this.#onNode(node, database, async (client) => {
      for (const { role, password } of [{ role: 'postgres', password: this.superuserPassword }, ...roles]) {
        for (const nodeId of [0, -1]) {
          await client.query(
            `INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES ($1, $2, $3)
             ON CONFLICT (nodeid, rolename) DO UPDATE SET authinfo = EXCLUDED.authinfo`,
            [nodeId, role, `password=${password}`],
          )
        }
      }
    })
  }

  /**
   * Copies database-level grants made on the coordinator to the workers (Citus does not propagate
   * GRANT ... ON DATABASE): `CONNECT` for each role, `PUBLIC` revoked, as provisionDatabase does.
   */
  async grantConnect(database: string, roles: readonly string[]): Promise<void> {
    for (const worker of this.workers) {
      await this.#onNode(worker, 'postgres', async (client) => {
        await formatted(client, 'REVOKE ALL ON DATABASE %I FROM PUBLIC', database)
        for (const role of roles)
          await formatted(client, 'GRANT CONNECT ON DATABASE %I TO %I', database, role)
      })
    }
  }

  /** Stops every node (fast shutdown); deletes the folder if the cluster made it (or `remove`). */
  async stop(options: { remove?: boolean } = {}): Promise<void> {
    await Promise.all(
      this.nodes.map((node) =>
        existsSync(join(node.dataDir, 'postmaster.pid'))
          ? asPostgres(join(this.bin, 'pg_ctl'), ['-D', node.dataDir, '-m', 'fast', '-w', 'stop']).catch(
              () => undefined,
            )
          : Promise.resolve(),
      ),
    )
    if (options.remove ?? this.#ownsDir) await rm(this.dir, { recursive: true, force: true })
  }
}

/** Builds a statement server-side with format(%I, %L), so names are quoted by PostgreSQL. */
async function formatted(client: pg.Client, template: string, ...args: string[]): Promise<void> {
  const { rows } = await client.query<{ sql: string }>(
    `SELECT format($1, ${args.map((_, i) => `$${i + 2}::text`).join(', ')}) AS sql`,
    [template, ...args],
  )
  await client.query(rows[0]!.sql)
}
