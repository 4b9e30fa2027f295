import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantDatabase } from '@rowfence/core'
import { buildApp, itemsDemo } from '@rowfence/demo'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'

const bin = resolve(import.meta.dirname, '../bin/rowfence-demo.js')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}

let db: TestDatabase
let home: string
beforeAll(async () => {
  db = await createTestDatabase()
  home = await mkdtemp(join(tmpdir(), 'rowfence-cli-home-'))
})
afterAll(async () => {
  await db.drop()
  await rm(home, { recursive: true, force: true })
})

describe('rowfence-demo token', () => {
  it('prints a token the server accepts (dev secret generated under ROWFENCE_HOME)', async () => {
    const tenant = itemsDemo.tenants[2]!
    const result = await run(['token', '--tenant', tenant.id], {
      ROWFENCE_HOME: home,
      ROWFENCE_JWT_SECRET: '',
    })
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const token = result.stdout.trim()
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)

    const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8'))
    const app = await buildApp({
      db: createTenantDatabase(db.pool('app')),
      jwtSecret: config.jwtSecret,
      logger: false,
    })
    try {
      const response = await app.inject({ url: '/items/', headers: { authorization: `Bearer ${token}` } })
      expect(response.statusCode).toBe(200)
      expect(response.json().map((item: { tenant_id: string }) => item.tenant_id)).toEqual(
        Array(5).fill(tenant.id),
      )
    } finally {
      await app.close()
    }
  })

  it.each([
    [['token'], /--tenant <uuid> is required/],
    [['token', '--tenant', 'nope'], /must be a UUID/],
    [['token', '--tenant', itemsDemo.tenants[0]!.id, '--expires', 'forever'], /--expires/],
    [['token', '--bogus'], /Unknown option '--bogus'/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await run(args, { ROWFENCE_HOME: home })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stdout).toBe('')
  })
})

describe('rowfence-demo', () => {
  it('--help lists the commands (exit 0); an unknown command exits 2', async () => {
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['dev', 'serve', 'seed', 'token', 'clean']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    }
    const unknown = await run(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/)
  })

  it('dev with DATABASE_URL but no APP_DATABASE_URL refuses to start (exit 2)', async () => {
    const result = await run(['dev'], {
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: '',
      ROWFENCE_HOME: home,
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/APP_DATABASE_URL is required/)
  })
})

describe('rowfence-demo dev against an external PostgreSQL', () => {
  it('migrates, seeds, serves, prints a working curl line, and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [bin, 'dev'], {
      env: {
        ...process.env,
        DATABASE_URL: db.ownerUrl,
        APP_DATABASE_URL: db.appUrl,
        ROWFENCE_HOME: home,
        PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: 'pipe',
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const exited = new Promise<number | null>((resolvePromise) => child.on('close', resolvePromise))
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no welcome banner; got: ${stdout}`)), 20_000)
        child.stdout.on('data', () => {
          if (stdout.includes('Ctrl-C')) {
            clearTimeout(timer)
            resolvePromise()
          }
        })
      })
      const curl = /curl -H "Authorization: Bearer ([^"]+)" (\S+)/.exec(stdout)
      expect(curl).not.toBeNull()
      for (const tenant of itemsDemo.tenants) expect(stdout).toContain(tenant.id)
      const response = await fetch(curl![2]!, { headers: { authorization: `Bearer ${curl![1]}` } })
      expect(response.status).toBe(200)
      expect(((await response.json()) as Array<{ title: string }>).map((item) => item.title)).toEqual([
        'art-fair',
        'bench',
        'concert',
        'drinking-fountain',
        'emergency-kit',
      ])
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
  })
})

describe('rowfence-demo serve and the context key', () => {
  /** Serves the test database with `key`; returns what the server printed and the items one token lists. */
  async function serveWith(key: string): Promise<{ stderr: string; titles: string[] }> {
    const child = spawn(process.execPath, [bin, 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: db.ownerUrl,
        APP_DATABASE_URL: db.appUrl,
        ROWFENCE_HOME: home,
        ROWFENCE_CONTEXT_KEY: key,
        PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: 'pipe',
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolvePromise) => child.on('close', resolvePromise))
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no welcome banner; got: ${stdout}${stderr}`)),
          20_000,
        )
        child.stdout.on('data', () => {
          if (stdout.includes('Ctrl-C')) {
            clearTimeout(timer)
            resolvePromise()
          }
        })
      })
      const curl = /curl -H "Authorization: Bearer ([^"]+)" (\S+)/.exec(stdout)
      const response = await fetch(curl![2]!, { headers: { authorization: `Bearer ${curl![1]}` } })
      expect(response.status).toBe(200)
      const titles = ((await response.json()) as Array<{ title: string }>).map((item) => item.title)
      return { stderr, titles }
    } finally {
      child.kill('SIGINT')
      expect(await exited).toBe(0)
    }
  }

  it('signs with ROWFENCE_CONTEXT_KEY: the installed key serves the tenant its rows, silently', async () => {
    const served = await serveWith(db.cluster.contextKey)
    expect(served.titles).toHaveLength(5)
    expect(served.stderr).not.toContain('does not verify')
  })

  it('warns at startup when the database does not verify the key, and every tenant sees nothing', async () => {
    const served = await serveWith(`unknown:${'cd'.repeat(32)}`)
    expect(served.stderr).toContain(
      'warning: the database does not verify the tenant context signed with key unknown',
    )
    expect(served.titles).toEqual([])
  })

  it('refuses a malformed ROWFENCE_CONTEXT_KEY (exit 2, the secret not echoed)', async () => {
    const result = await run(['serve'], {
      DATABASE_URL: db.ownerUrl,
      APP_DATABASE_URL: db.appUrl,
      ROWFENCE_HOME: home,
      ROWFENCE_CONTEXT_KEY: 'short:abcd',
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('ROWFENCE_CONFIG_INVALID')
    expect(result.stderr).not.toContain('abcd')
  })
})
