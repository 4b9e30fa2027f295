import pg from 'pg'
import { loadMigrations, migrate, migrationStatus } from '@rowfence/core/migrate'
import { demoMigrationsDir } from '@rowfence/demo'
import { openDatabaseEnvironment } from '../environment.ts'
import { parseCommandArgs, type Command } from './shared.ts'

const dirHelp = `  --dir <path>    migrations folder (default: the demo app's migrations)`

async function withOwnerPool<T>(
  io: { err: (line: string) => void },
  fn: (pool: pg.Pool) => Promise<T>,
): Promise<T> {
  const environment = await openDatabaseEnvironment(io.err, { needApp: false })
  const pool = new pg.Pool({ connectionString: environment.ownerUrl, max: 2 })
  try {
    return await fn(pool)
  } finally {
    await pool.end()
    await environment.close()
  }
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending SQL migrations as the owner role',
  usage: `rowfence migrate [--dir <path>] [--dry-run]

Applies pending NNNN_name.sql files in order, each in its own transaction, under an advisory
lock (a concurrent run waits, then finds nothing to do). An applied file that was edited is an
error (ROWFENCE_MIGRATION_CHECKSUM_MISMATCH). Connects with DATABASE_URL, else embedded PostgreSQL.

${dirHelp}
  --dry-run       print the SQL of pending migrations instead of applying them`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { dir: { type: 'string' }, 'dry-run': { type: 'boolean' } })
    if (values.help) return (io.out(this.usage), 0)
    const migrations = await loadMigrations(values.dir ?? demoMigrationsDir)
    return withOwnerPool(io, async (pool) => {
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
  usage: `rowfence status [--dir <path>]

Lists every migration of the folder as applied (with the time it ran) or pending, in order.
An applied file that was edited is an error (ROWFENCE_MIGRATION_CHECKSUM_MISMATCH). Connects with
DATABASE_URL, else embedded PostgreSQL; changes nothing.

${dirHelp}`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { dir: { type: 'string' } })
    if (values.help) return (io.out(this.usage), 0)
    const migrations = await loadMigrations(values.dir ?? demoMigrationsDir)
    return withOwnerPool(io, async (pool) => {
      for (const state of await migrationStatus(pool, migrations)) {
        io.out(
          `${state.status.padEnd(8)} ${state.id}${state.appliedAt ? `  ${state.appliedAt.toISOString()}` : ''}`,
        )
      }
      return 0
    })
  },
}
