import { spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAndPack, ok, root, type PackedPackage } from './support/pack.ts'
import { createTestDatabase, type TestDatabase } from './support/test-database.ts'

/**
 * Each example in examples/ is what a user copies: it is installed from the packed tarballs in a folder
 * outside the workspace, set up as the owner role, started as the app role, and driven over HTTP with two
 * tenants' tokens. They all serve the same notes API (GET/POST /notes, GET/DELETE /notes/:id) and read the
 * JWT settings from the same variables.
 */

const acme = 'a0000000-0000-4000-8000-000000000001'
const globex = 'b0000000-0000-4000-8000-000000000002'
const jwt = {
  secret: 'examples-test-secret-examples-test-secret',
  issuer: 'https://issuer.test',
  audience: 'notes',
}
const examples = (await readdir(join(root, 'examples'), { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  // ROWFENCE_EXAMPLES=a,b runs only those (while working on one).
  .filter(
    (name) => !process.env['ROWFENCE_EXAMPLES'] || process.env['ROWFENCE_EXAMPLES'].split(',').includes(name),
  )
  .sort()

let work: string
let packed: PackedPackage[]

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rowfence-examples-'))
  const tarballs = join(work, 'tarballs')
  await mkdir(tarballs)
  packed = await buildAndPack(tarballs)
}, 600_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

async function tokenFor(tenantId: string): Promise<string> {
  return new SignJWT({ tenant_id: tenantId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(jwt.secret))
}

/**
 * Starts the example's server (its `main`, else src/server.js) and resolves with its base URL, from the
 * "listening on" line it prints.
 */
function start(
  dir: string,
  main: string,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [main], { cwd: dir, env: { ...process.env, ...env } })
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`no "listening on" line:\n${output}`)), 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({ url: match[1]!, child })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited ${code}:\n${output}`))
    })
  })
}

describe.each(examples)('examples/%s', { timeout: 300_000 }, (example) => {
  let db: TestDatabase
  let dir: string
  let server: { url: string; child: ChildProcess } | undefined

  beforeAll(async () => {
    dir = join(work, example)
    await cp(join(root, 'examples', example), dir, {
      recursive: true,
      filter: (source) => !source.includes('node_modules'),
    })
    // The @rowfence packages from the tarballs; everything else from the registry.
    const manifestPath = join(dir, 'package.json')
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      main?: string
      scripts?: Record<string, string>
      dependencies?: Record<string, string>
      overrides?: Record<string, string>
    }
    const fileSpecs = Object.fromEntries(packed.map((pkg) => [pkg.name, `file:${pkg.tarball}`]))
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if (fileSpecs[name]) manifest.dependencies![name] = fileSpecs[name]
    }
    manifest.overrides = fileSpecs
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2))
    await ok('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: dir,
      timeout: 300_000,
    })
    if (manifest.scripts?.['build']) await ok('npm', ['run', 'build'], { cwd: dir, timeout: 300_000 })

    db = await createTestDatabase({ empty: true })
    await ok('npm', ['run', 'setup'], {
      cwd: dir,
      env: { DATABASE_URL: db.ownerUrl, APP_ROLE: db.cluster.appRole },
    })
    server = await start(dir, manifest.main ?? 'src/server.js', {
      APP_DATABASE_URL: db.appUrl,
      PORT: '0',
      JWT_SECRET: jwt.secret,
      JWT_ISSUER: jwt.issuer,
      JWT_AUDIENCE: jwt.audience,
    })
  }, 600_000)

  afterAll(async () => {
    server?.child.kill('SIGTERM')
    await db?.drop()
  })

  const call = async (tenantId: string | undefined, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server!.url}${path}`, {
      method,
      headers: {
        ...(tenantId ? { authorization: `Bearer ${await tokenFor(tenantId)}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined }
  }

  it('keeps the two tenants apart over HTTP', async () => {
    const mine = await call(acme, 'POST', '/notes', { body: 'acme plan' })
    const theirs = await call(globex, 'POST', '/notes', { body: 'globex secret' })
    expect(mine.status).toBe(201)
    expect(theirs.status).toBe(201)
    const theirId = (theirs.body as { id: string }).id

    expect((await call(acme, 'GET', '/notes')).body).toEqual([mine.body])
    expect((await call(globex, 'GET', '/notes')).body).toEqual([theirs.body])
    // acme goes after globex's note by id: not found, and it is still there afterwards.
    expect((await call(acme, 'GET', `/notes/${theirId}`)).status).toBe(404)
    expect((await call(acme, 'DELETE', `/notes/${theirId}`)).status).toBe(404)
    expect((await call(globex, 'GET', `/notes/${theirId}`)).body).toEqual(theirs.body)
    expect((await call(acme, 'GET', '/notes/not-a-uuid')).status).toBe(400)

    const anonymous = await call(undefined, 'GET', '/notes')
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).toMatchObject({ code: 'ROWFENCE_UNAUTHENTICATED' })
    expect((await call(globex, 'DELETE', `/notes/${theirId}`)).status).toBe(204)
    expect((await call(globex, 'GET', '/notes')).body).toEqual([])
  })
})
