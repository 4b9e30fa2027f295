import pg from 'pg'
import { loadMigrations, migrate, migrationStatus } from '@rowfence/core/migrate'
import { CliError, maskUrl, usageError } from '../cli-error.ts'
import { configPath, databaseUrl, loadConfig, type LoadedConfig } from '../config.ts'
import { parseCommandArgs, type Command, type CommandIo } from './shared.ts'

const commonHelp = `  --dir <path>     migrations folder (default: "migrations" of rowfence.config.*)
  --config <file>  config file (default: rowfence.config.* or package.json "rowfence", searched upward)

Connects as the owner/migration role with DATABASE_URL (or the variable the config's env.databaseUrl
names). Without a folder or a database URL it is a usage error (exit 2): nothing is touched.`

/** The migrations folder and owner URL a command needs, or a usage error naming what is missing. */
export async function migrationTarget(
  values: { dir?: string | undefined; config?: string | undefined },
  commandName: string,
): Promise<{ dir: string; url: string; loaded: LoadedConfig }> {
  const loaded = await loadConfig(process.cwd(), values.config)
  const dir = values.dir ?? configPath(loaded, loaded.config.migrations)
  if (dir === undefined) {
    throw usageError(
      `no migrations folder: pass --dir <path> or set "migrations" in rowfence.config.* ` +
        `(${loaded.file ? `${loaded.file} has none` : 'no config file found'}); rowfence ${commandName} has no default`,
    )
  }
  const variable = loaded.config.env?.databaseUrl ?? 'DATABASE_URL'
  const url = databaseUrl(loaded)
  if (!url) throw usageError(`no database: set ${variable} to the owner/migration role's connection string`)
  return { dir, url, loaded }
}

export async function withOwnerPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'rowfence migrate' })
  pool.on('error', () => undefined) // an idle client's socket error; the query that needs it reports it
  try {
    return await fn(pool)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|28P01|28000|3D000)$/.test(code)) {
      throw new CliError(
        'ROWFENCE_DATABASE_UNAVAILABLE',
        `cannot connect to ${maskUrl(url)}: ${(error as Error).message}`,
        {
          exitCode: 2,
          cause: error,
        },
      )
    }
    throw error
  } finally {
    await pool.end()
  }
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending SQL migrations as the owner role',
  usage: `rowfence migrate [--dir <path>] [--config <file>] [--dry-run]

Applies pending NNNN_name.sql files in order, each in its own transaction, under an advisory
lock (a concurrent run waits, then finds nothing to do). An applied file that was edited is an
error (ROWFENCE_MIGRATION_CHECKSUM_MISMATCH).

  --dry-run        print the SQL of pending migrations instead of applying them
${commonHelp}`,
  async run(argv, io: CommandIo) {
    const { values } = parseCommandArgs(argv, {
      dir: { type: 'string' },
      config: { type: 'string' },
      'dry-run': { type: 'boolean' },
    })
    if (values.help) return (io.out(this.usage), 0)
    const { dir, url } = await migrationTarget(values, 'migrate')
    const migrations = await loadMigrations(dir)
    return withOwnerPool(url, async (pool) => {
      const result = await migrate(pool, {
        migrations,
        dryRun: values['dry-run'],
        onApply: (migration) => io.err(`applying ${migration.id}`),
      })
      if (values['dry-run']) {
        if (result.pending.length === 0) io.err('nothing to apply')
        for (const migration of result.pending) io.out(`-- ${migration.id}\n${migration.sql}`)
      } else {
        io.err(
          result.applied.length === 0
            ? 'database is up to date'
            : `applied ${result.applied.length} migration(s)`,
        )
      }
      return 0
    })
  },
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'List applied and pending migrations',
  usage: `rowfence status [--dir <path>] [--config <file>]

Lists every migration of the folder as applied (with the time it ran) or pending, in order.
An applied file that was edited is an error (ROWFENCE_MIGRATION_CHECKSUM_MISMATCH). Changes nothing.

${commonHelp}`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { dir: { type: 'string' }, config: { type: 'string' } })
    if (values.help) return (io.out(this.usage), 0)
    const { dir, url } = await migrationTarget(values, 'status')
    const migrations = await loadMigrations(dir)
    return withOwnerPool(url, async (pool) => {
      for (const state of await migrationStatus(pool, migrations)) {
        io.out(
          `${state.status.padEnd(8)} ${state.id}${state.appliedAt ? `  ${state.appliedAt.toISOString()}` : ''}`,
        )
      }
      return 0
    })
  },
}
