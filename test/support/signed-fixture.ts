import { randomBytes, randomUUID } from 'node:crypto'
import type pg from 'pg'
import {
  defineContextConfig,
  signContext,
  withTenant,
  type TenantContext,
  type TenantContextConfig,
} from '@rowfence/core'
import { addContextKey, migrate, migrationFrom } from '@rowfence/core/migrate'
import { renderSchema, rowfenceSchema, tenantsTable, tenantTable, text, uuid } from '@rowfence/core/schema'
import { createTestDatabase, type TestDatabase } from './test-database.ts'

/**
 * The signed-context fixture the injection tests share (core, the ORM adapters' raw SQL, HTTP): a schema
 * of `orgs` (the tenants) and `notes` (read by tenant, written by their author), generated with the signed
 * context or, for the contrast, the plain one; two tenants, one note each; the signing key installed.
 */

/** The app's key, installed in the database with addContextKey. */
export const key = { id: 'k1', secret: randomBytes(32).toString('hex') }
/** What an attacker may guess: a well-formed key under the real key id, but not the real secret. */
export const guessedKey = { id: 'k1', secret: randomBytes(32).toString('hex') }

const claims = { role: 'app.role' }
export const signedContextConfig = defineContextConfig({ signing: { key }, claims })
export const plainContextConfig = defineContextConfig({ claims })

const orgs = tenantsTable('orgs', { columns: { id: uuid().primaryKey(), name: text().notNull() } })
const notes = tenantTable('notes', {
  columns: { id: uuid().primaryKey().defaultRandom(), author_id: uuid().notNull(), body: text().notNull() },
  policies: { read: 'tenant', write: { ownerColumn: 'author_id' } },
})

export const A = randomUUID()
export const B = randomUUID()
export const [a1, b1] = [randomUUID(), randomUUID()]
export const asA: TenantContext = { tenantId: A, userId: a1, claims: { role: 'editor' } }
export const asB: TenantContext = { tenantId: B, userId: b1 }
/** What each tenant's org is called and its one note says. */
export const seeded = { [A]: { org: 'alpha', note: 'alpha note' }, [B]: { org: 'bravo', note: 'bravo note' } }

export interface NotesDatabase {
  readonly db: TestDatabase
  readonly owner: pg.Pool
  /** The app role: no owner, no BYPASSRLS. */
  readonly app: pg.Pool
  /** The superuser, for looking at B's rows past RLS. */
  readonly admin: pg.Pool
  /** The context config the app uses with this database (signed or plain). */
  readonly contextConfig: TenantContextConfig
  /** B's notes as they are in the database (read past RLS), to compare before and after the attacks. */
  bNotes(): Promise<unknown[]>
  drop(): Promise<void>
}

/** A fresh database with the notes schema, migrated and seeded: signed context unless `signed: false`. */
export async function createNotesDatabase(options: { signed?: boolean } = {}): Promise<NotesDatabase> {
  const signed = options.signed !== false
  const contextConfig = signed ? signedContextConfig : plainContextConfig
  const db = await createTestDatabase({ empty: true })
  const owner = db.pool('owner')
  const admin = db.pool('admin')
  const schema = rowfenceSchema({
    tables: [orgs, notes],
    appRole: db.cluster.appRole,
    context: { signed, claims },
  })
  await migrate(owner, { migrations: [migrationFrom('0001_notes', renderSchema(schema))] })
  if (signed) await addContextKey(owner, key)
  for (const context of [asA, asB]) {
    const { org, note } = seeded[String(context.tenantId)]!
    await withTenant(
      owner,
      context,
      async (tx) => {
        await tx.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [context.tenantId, org])
        await tx.query('INSERT INTO notes (author_id, body) VALUES ($1, $2)', [context.userId, note])
      },
      { contextConfig },
    )
  }
  return {
    db,
    owner,
    app: db.pool('app'),
    admin,
    contextConfig,
    bNotes: async () =>
      (await admin.query('SELECT id, body, author_id FROM notes WHERE tenant_id = $1 ORDER BY id', [B])).rows,
    drop: () => db.drop(),
  }
}

/** A well-formed value with the right key id for `tenantId`, signed with `signingKey` (a guessed one by default). */
export const forged = (tenantId: string, signingKey = guessedKey, nowMs = Date.now()): string =>
  signContext({ tenantId, userId: '', claims: {} }, { key: signingKey }, nowMs)

/** A signed `value` with the payload re-encoded for tenant `to` instead of `from`, the signature kept. */
export function respliced(value: string, from: string, to: string): string {
  const [version, id, payload, mac] = value.split('.')
  const json = Buffer.from(payload!, 'hex').toString('utf8').replace(from, to)
  return [version, id, Buffer.from(json, 'utf8').toString('hex'), mac].join('.')
}

/** A's genuine signed value with B's (or any) tenant id spliced into the payload, the signature kept. */
export const splice = (from: string, to: string): string =>
  respliced(signContext({ tenantId: from, userId: a1, claims: {} }, { key }), from, to)

/** Context values an attacker in A's transaction might set to become B: none verifies. */
export const forgedValues: readonly (readonly [string, () => string])[] = [
  ['forged with a guessed key under the real key id', () => forged(B)],
  ['signed with a key id the database does not have', () => forged(B, { id: 'k9', secret: key.secret })],
  ['expired (signed with the real key an hour ago, 5 min ttl)', () => forged(B, key, Date.now() - 3_600_000)],
  ["A's own value with B's id spliced into the payload", () => splice(A, B)],
  ['a truncated signature', () => forged(B, key).slice(0, -2)],
  ['garbage', () => 'v1.k1.zz.00'],
]
