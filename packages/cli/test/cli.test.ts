import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { runCli } from './support/run-cli.ts'

let db: TestDatabase
let project: string

/** Tables of the public schema and rowfence's migration bookkeeping: what a command may have written. */
async function tablesOf(url: string): Promise<string[]> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    )
    return rows.map((row) => row.name)
  } finally {
    await client.end()
  }
}

beforeAll(async () => {
  db = await createTestDatabase({ empty: true })
  // A project folder outside the workspace: no config file anywhere above it.
  project = await mkdtemp(join(tmpdir(), 'rowfence-cli-project-'))
})
afterAll(async () => {
  await db.drop()
  await rm(project, { recursive: true, force: true })
})

describe('rowfence (the product CLI)', () => {
  it('--help lists generate, migrate, status and check, and nothing of the demo', async () => {
    const help = await runCli(['--help'], { cwd: project })
    expect(help.code).toBe(0)
    for (const command of ['generate', 'migrate', 'status', 'check']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    }
    for (const command of ['dev', 'serve', 'seed', 'token', 'clean']) {
      expect(help.stdout).not.toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    }
    const unknown = await runCli(['dev'], { cwd: project })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command "dev"/)
  })

  it.each([['migrate'], ['status'], ['generate']])(
    '%s with neither config nor flags is a usage error (exit 2) and writes nothing',
    async (command) => {
      const before = await tablesOf(db.ownerUrl)
      const result = await runCli([command], { cwd: project, env: { DATABASE_URL: db.ownerUrl } })
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(
        command === 'generate' ? /missing --schema <module>/ : /no migrations folder/,
      )
      expect(result.stderr).toContain('no config file found')
      expect(await tablesOf(db.ownerUrl)).toEqual(before)
      expect(await readdir(project)).toEqual([])
    },
  )

  it('migrate and status without a database URL are usage errors naming the variable', async () => {
    const result = await runCli(['migrate', '--dir', project], { cwd: project, env: { DATABASE_URL: '' } })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/no database: set DATABASE_URL/)
  })

  it('check without a database URL is exit 2, never an embedded database', async () => {
    const result = await runCli(['check'], { cwd: project, env: { DATABASE_URL: '' } })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/no database to check/)
    expect(result.stdout).toBe('')
  })

  it('reads rowfence.config.json from a parent folder: migrations folder and env var names', async () => {
    const app = join(project, 'app')
    await mkdir(join(app, 'db', 'migrations'), { recursive: true })
    await mkdir(join(app, 'src', 'deep'), { recursive: true })
    await writeFile(
      join(app, 'rowfence.config.json'),
      JSON.stringify({ migrations: './db/migrations', env: { databaseUrl: 'OWNER_DB' } }),
    )
    await writeFile(
      join(app, 'db', 'migrations', '0001_notes.sql'),
      'CREATE TABLE notes (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));\n',
    )
    const cwd = join(app, 'src', 'deep')
    const missing = await runCli(['status'], { cwd, env: { DATABASE_URL: db.ownerUrl, OWNER_DB: '' } })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/set OWNER_DB/)

    const migrated = await runCli(['migrate'], { cwd, env: { OWNER_DB: db.ownerUrl } })
    expect(migrated).toMatchObject({ code: 0, stderr: expect.stringContaining('applied 1 migration(s)') })
    expect(await tablesOf(db.ownerUrl)).toContain('public.notes')
    const status = await runCli(['status'], { cwd, env: { OWNER_DB: db.ownerUrl } })
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/^applied {2}0001_notes {2}\d{4}-/)
  })

  it('an invalid config is exit 2 with the file and the problem', async () => {
    const bad = join(project, 'bad')
    await mkdir(bad)
    await writeFile(join(bad, 'rowfence.config.json'), JSON.stringify({ migratons: './m' }))
    const result = await runCli(['status'], { cwd: bad, env: { DATABASE_URL: db.ownerUrl } })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/rowfence\.config\.json: unknown option "migratons"/)
  })

  it('a "rowfence" key in package.json is a config', async () => {
    const pkg = join(project, 'pkg')
    await mkdir(join(pkg, 'migrations'), { recursive: true })
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'x', rowfence: { migrations: 'migrations' } }),
    )
    const result = await runCli(['status'], { cwd: pkg, env: { DATABASE_URL: db.ownerUrl } })
    expect(result).toMatchObject({ code: 0, stdout: '' })
  })
})
