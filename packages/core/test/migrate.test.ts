import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import {
  checksumOf,
  loadMigrations,
  migrate,
  MIGRATION_LOCK_KEY,
  migrationStatus,
} from '@rowfence/core/migrate'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { runCli } from '../../cli/test/support/run-cli.ts'

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ empty: true })
  cleanups.push(() => db.drop())
  return db
}

/** A temporary migrations folder with the given files. */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rowfence-migrations-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  await write(dir, files)
  return dir
}

async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql)
}

async function recorded(pool: pg.Pool): Promise<{ id: string; checksum: string }[]> {
  const { rows } = await pool.query('SELECT id, checksum FROM rowfence.schema_migrations ORDER BY id')
  return rows
}

const values = async (pool: pg.Pool, table: string): Promise<number[]> =>
  (await pool.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).rows.map((row) => row.n)

const ids = (migrations: readonly { id: string }[]): string[] => migrations.map((migration) => migration.id)

/** Runs the real CLI (from its sources) as its own process, as the owner role of a test database. */
function rowfence(
  args: string[],
  databaseUrl: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, { env: { DATABASE_URL: databaseUrl, APP_DATABASE_URL: '' } })
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('the migration runner', () => {
  it('applies pending migrations once, in numeric order, each recorded with its checksum', async () => {
    const db = await freshDatabase()
    const owner = db.pool('owner')
    const files = {
      '0010_ten.sql': 'INSERT INTO numbers VALUES (10);',
      '0002_two.sql': 'INSERT INTO numbers VALUES (2);',
      '0001_create.sql': 'CREATE TABLE numbers (n int); INSERT INTO numbers VALUES (1);',
      'README.md': 'not a migration',
    }
    const dir = await folder(files)
    const result = await migrate(owner, { migrations: await loadMigrations(dir) })
    expect(ids(result.applied)).toEqual(['0001_create', '0002_two', '0010_ten'])
    expect(await values(owner, 'numbers')).toEqual([1, 2, 10])
    expect(await recorded(owner)).toEqual([
      { id: '0001_create', checksum: checksumOf(files['0001_create.sql']) },
      { id: '0002_two', checksum: checksumOf(files['0002_two.sql']) },
      { id: '0010_ten', checksum: checksumOf(files['0010_ten.sql']) },
    ])

    // Re-running is a no-op; a migration added later is applied alone.
    const again = await migrate(owner, { migrations: await loadMigrations(dir) })
    expect([ids(again.applied), ids(again.pending)]).toEqual([[], []])
    expect(await values(owner, 'numbers')).toEqual([1, 2, 10])
    await write(dir, { '0011_eleven.sql': 'INSERT INTO numbers VALUES (11);' })
    expect((await migrationStatus(owner, await loadMigrations(dir))).map((s) => [s.id, s.status])).toEqual([
      ['0001_create', 'applied'],
      ['0002_two', 'applied'],
      ['0010_ten', 'applied'],
      ['0011_eleven', 'pending'],
    ])
    const dry = await migrate(owner, { migrations: await loadMigrations(dir), dryRun: true })
    expect([ids(dry.applied), ids(dry.pending)]).toEqual([[], ['0011_eleven']])
    expect(await values(owner, 'numbers')).toEqual([1, 2, 10])
    expect(ids((await migrate(owner, { migrations: await loadMigrations(dir) })).applied)).toEqual([
      '0011_eleven',
    ])
    expect(await values(owner, 'numbers')).toEqual([1, 2, 10, 11])
  })

  it('refuses to run when an applied migration was edited (ROWFENCE_MIGRATION_CHECKSUM_MISMATCH)', async () => {
    const db = await freshDatabase()
    const owner = db.pool('owner')
    const dir = await folder({
      '0001_create.sql': 'CREATE TABLE numbers (n int);\nINSERT INTO numbers VALUES (1);\n',
    })
    await migrate(owner, { migrations: await loadMigrations(dir) })

    // Line endings alone are not an edit.
    await write(dir, {
      '0001_create.sql': 'CREATE TABLE numbers (n int);\r\nINSERT INTO numbers VALUES (1);\r\n',
    })
    await expect(migrate(owner, { migrations: await loadMigrations(dir) })).resolves.toMatchObject({
      applied: [],
    })

    await write(dir, {
      '0001_create.sql': 'CREATE TABLE numbers (n int);\nINSERT INTO numbers VALUES (100);\n',
      '0002_more.sql': 'INSERT INTO numbers VALUES (2);',
    })
    const mismatch = { code: 'ROWFENCE_MIGRATION_CHECKSUM_MISMATCH', details: { migration: '0001_create' } }
    await expect(migrate(owner, { migrations: await loadMigrations(dir) })).rejects.toMatchObject(mismatch)
    await expect(migrationStatus(owner, await loadMigrations(dir))).rejects.toMatchObject(mismatch)
    expect(await values(owner, 'numbers')).toEqual([1])
    expect(ids(await recorded(owner))).toEqual(['0001_create'])

    const cli = await rowfence(['migrate', '--dir', dir], db.ownerUrl)
    expect(cli, JSON.stringify(cli)).toMatchObject({ code: 1 })
    expect(cli.stderr).toMatch(
      /Migration 0001_create was edited after it was applied.*\[ROWFENCE_MIGRATION_CHECKSUM_MISMATCH\]/,
    )
    expect(cli.stderr).not.toContain(db.cluster.ownerPassword)
  })

  it('rolls a failing migration back entirely and does not record it', async () => {
    const db = await freshDatabase()
    const owner = db.pool('owner')
    const dir = await folder({
      '0001_create.sql': 'CREATE TABLE numbers (n int);',
      '0002_broken.sql': 'CREATE TABLE half (n int);\nINSERT INTO numbers VALUES (2);\nSELECT 1/0;',
      '0003_after.sql': 'INSERT INTO numbers VALUES (3);',
    })
    await expect(migrate(owner, { migrations: await loadMigrations(dir) })).rejects.toMatchObject({
      code: 'ROWFENCE_MIGRATION_FAILED',
      details: { migration: '0002_broken' },
      cause: { code: '22012' },
    })
    expect(ids(await recorded(owner))).toEqual(['0001_create'])
    expect(await values(owner, 'numbers')).toEqual([])
    expect((await owner.query(`SELECT to_regclass('half') AS half`)).rows).toEqual([{ half: null }])

    // A migration that never applied may still be fixed; the next run picks up where it stopped.
    await write(dir, { '0002_broken.sql': 'CREATE TABLE half (n int);\nINSERT INTO numbers VALUES (2);' })
    const result = await migrate(owner, { migrations: await loadMigrations(dir) })
    expect(ids(result.applied)).toEqual(['0002_broken', '0003_after'])
    expect(await values(owner, 'numbers')).toEqual([2, 3])
  })

  it('two concurrent `rowfence migrate` processes: one applies, the other waits and finds nothing to do', async () => {
    const db = await freshDatabase()
    const owner = db.pool('owner')
    const dir = await folder({
      '0001_slow.sql': 'CREATE TABLE slow (n int);\nSELECT pg_sleep(1);\nINSERT INTO slow VALUES (1);\n',
    })
    const advisoryLocks = async () =>
      (
        await owner.query<{ granted: boolean; n: number }>(
          `SELECT granted, count(*)::int AS n FROM pg_locks
              WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              GROUP BY granted`,
        )
      ).rows.reduce((counts, row) => ({ ...counts, [row.granted ? 'held' : 'waiting']: row.n }), {
        held: 0,
        waiting: 0,
      })

    // Hold the runner's lock so both processes are surely started and queued before either may begin.
    const gate = new pg.Client(db.ownerUrl)
    await gate.connect()
    cleanups.push(() => gate.end())
    await gate.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()])
    const runs = [
      rowfence(['migrate', '--dir', dir], db.ownerUrl),
      rowfence(['migrate', '--dir', dir], db.ownerUrl),
    ]
    await until(
      async () => ((await advisoryLocks()).waiting === 2 ? true : undefined),
      'both processes to wait',
    )
    await gate.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()])

    // While the winner sleeps inside its migration, the loser is queued on the same lock.
    const during = await until(async () => {
      const locks = await advisoryLocks()
      return locks.held === 1 && locks.waiting === 1 ? locks : undefined
    }, 'one process to hold the lock while the other waits')
    expect(during).toEqual({ held: 1, waiting: 1 })

    const results = await Promise.all(runs)
    expect(results.map((result) => result.code)).toEqual([0, 0])
    const winners = results.filter((result) => result.stderr.includes('applying 0001_slow'))
    const losers = results.filter((result) => result.stderr.includes('database is up to date'))
    expect([winners.length, losers.length]).toEqual([1, 1])
    expect(winners[0]?.stderr).toContain('applied 1 migration(s)')
    expect(losers[0]?.stderr).not.toContain('applying')
    expect(ids(await recorded(owner))).toEqual(['0001_slow'])
    expect(await values(owner, 'slow')).toEqual([1])
    expect(await advisoryLocks()).toEqual({ held: 0, waiting: 0 })
  }, 60_000)
})
