import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineContextConfig, parseContextKey, queryAsTenant, withTenant } from '@rowfence/core'
import { migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, text, uuid } from '@rowfence/core/schema'
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts'
import { runCli } from './support/run-cli.ts'

/** `rowfence keys`: install, rotate and retire the signed context's keys as the owner. */

const orgs = tenantsTable('orgs', { columns: { id: uuid().primaryKey(), name: text().notNull() } })
const schema = rowfenceSchema({ tables: [orgs], appRole: 'rowfence_app', context: { signed: true } })
const tenant = randomUUID()

let db: TestDatabase
let project: string
const env = () => ({ DATABASE_URL: db.ownerUrl, ROWFENCE_CONTEXT_KEY: '' })

/** How many org rows the app role sees, signing with `keyText` (`<id>:<secret>`). */
const visibleWith = async (keyText: string): Promise<number> => {
  const contextConfig = defineContextConfig({ signing: { key: parseContextKey(keyText) } })
  const { rows } = await queryAsTenant(db.pool('app'), { tenantId: tenant }, 'SELECT id FROM orgs', [], {
    contextConfig,
  })
  return rows.length
}

beforeAll(async () => {
  db = await createTestDatabase({ empty: true })
  project = await mkdtemp(join(tmpdir(), 'rowfence-keys-'))
  await migrate(db.pool('owner'), { migrations: [migrationFrom('0001_signed', renderSchema(schema))] })
})
afterAll(async () => {
  await db?.drop()
  await rm(project, { recursive: true, force: true })
})

describe('rowfence keys', () => {
  const first = `k1:${randomBytes(32).toString('hex')}`
  let rotated = ''

  it('--add installs the key from the environment; the app signing with it sees its tenant', async () => {
    const added = await runCli(['keys', '--add'], {
      cwd: project,
      env: { ...env(), ROWFENCE_CONTEXT_KEY: first },
    })
    expect(added).toMatchObject({ code: 0, stdout: '', stderr: 'installed k1\n' })
    await withTenant(
      db.pool('owner'),
      { tenantId: tenant },
      (tx) => tx.query(`INSERT INTO orgs (id, name) VALUES ($1, 'acme')`, [tenant]),
      { contextConfig: defineContextConfig({ signing: { key: parseContextKey(first) } }) },
    )
    expect(await visibleWith(first)).toBe(1)
  })

  it('--rotate prints a new key (stdout only) that verifies next to the old one; --retire ends the old', async () => {
    const rotate = await runCli(['keys', '--rotate'], { cwd: project, env: env() })
    expect(rotate.code).toBe(0)
    expect(rotate.stdout).toMatch(/^ROWFENCE_CONTEXT_KEY=k\d{14}:[A-Za-z0-9_-]{43}\n$/)
    rotated = rotate.stdout.trim().slice('ROWFENCE_CONTEXT_KEY='.length)
    expect([await visibleWith(first), await visibleWith(rotated)]).toEqual([1, 1])
    const retire = await runCli(['keys', '--retire', 'k1'], { cwd: project, env: env() })
    expect(retire.code).toBe(0)
    expect([await visibleWith(first), await visibleWith(rotated)]).toEqual([0, 1])
    const list = await runCli(['keys'], { cwd: project, env: env() })
    expect(list.stdout).toMatch(/^k1 {2}created \S+ {2}retired from \S+\nk\d{14} {2}created \S+\n$/)
  })

  it('refuses bad input with exit 2 and changes nothing', async () => {
    for (const [args, keyText, message] of [
      [['keys', '--add'], '', /ROWFENCE_CONTEXT_KEY, which is not set/],
      [['keys', '--add'], 'k2:c2hvcnQ=', /at least 32 bytes/],
      [['keys', '--add', '--rotate'], first, /do not go together/],
      [['keys', '--retire', 'k1', '--at', 'tomorrow'], '', /not an ISO 8601 time/],
    ] as const) {
      const run = await runCli([...args], { cwd: project, env: { ...env(), ROWFENCE_CONTEXT_KEY: keyText } })
      expect(run.code, run.stderr).toBe(args.length === 2 && keyText ? 1 : 2)
      expect(run.stderr).toMatch(message)
    }
    const unknown = await runCli(['keys', '--retire', 'nope'], { cwd: project, env: env() })
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/ROWFENCE_KEY_NOT_FOUND/) })
    expect(await visibleWith(rotated)).toBe(1)
  })
})
