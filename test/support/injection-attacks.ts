import { quoteLiteral } from '@rowfence/core'
import { A, B, b1, forgedValues, splice } from './signed-fixture.ts'

/**
 * What a SQL injection inside tenant A's transaction runs to become tenant B, as SQL text (an injection
 * cannot use bind parameters: every value is a literal in the text). Shared by the ORM adapters' raw-SQL
 * tests and the HTTP test, on the notes fixture of signed-fixture.ts.
 */

/** Every row any of these statements returns has this shape: which tenant's note, and what it says. */
export const ownNotesSql = 'SELECT tenant_id::text AS tenant_id, body FROM notes ORDER BY body'

const quotedB = quoteLiteral(B)

/** B's notes asked for by tenant id: what a query that trusts `WHERE tenant_id` alone would leak. */
export const bNotesSql = `SELECT tenant_id::text AS tenant_id, body FROM notes WHERE tenant_id = ${quotedB}`

export interface ContextAttack {
  readonly name: string
  /** The injected statement that changes the context, run in A's transaction before A's own query. */
  readonly statement: string
  /**
   * The same change as an expression, for riding on a read or write in one statement (see piggyback*);
   * absent where PostgreSQL has no expression for it (RESET).
   */
  readonly setting?: string | undefined
  /**
   * Whom A's own queries see after it in the same transaction: A (the plain settings, which the signed
   * policies ignore) or nobody (the signed value was replaced or reset: fail closed, never B).
   */
  readonly leaves: 'A' | 'nobody'
}

/** `set_config(setting, value, local)` with both as literals, as an injection writes it. */
export const setConfig = (setting: string, value: string, local = true) =>
  `set_config(${quoteLiteral(setting)}, ${quoteLiteral(value)}, ${local})`

const settingAttack = (name: string, setting: string, leaves: ContextAttack['leaves']): ContextAttack => ({
  name,
  statement: `SELECT ${setting}`,
  setting,
  leaves,
})

/** The plain settings set to B: what switches tenant on the plain context (see the contrast tests). */
export const plainSettingAttack = settingAttack(
  'the plain tenant and user settings set to B',
  `${setConfig('rowfence.tenant_id', B)}, ${setConfig('rowfence.user_id', b1)}`,
  'A',
)

export const contextAttacks: readonly ContextAttack[] = [
  plainSettingAttack,
  settingAttack(
    'the plain settings set to B for the whole session',
    `${setConfig('rowfence.tenant_id', B, false)}, ${setConfig('rowfence.user_id', b1, false)}`,
    'A',
  ),
  ...forgedValues.map(([name, value]) =>
    settingAttack(`a context value ${name}`, setConfig('rowfence.context', value()), 'nobody'),
  ),
  settingAttack(
    'a forged context value for the whole session',
    setConfig('rowfence.context', forgedValues[0]![1](), false),
    'nobody',
  ),
  { name: 'RESET of the signed context', statement: 'RESET rowfence.context', leaves: 'nobody' },
  { name: 'RESET ALL', statement: 'RESET ALL', leaves: 'nobody' },
]

/** One statement that changes the context, then reads every note the policies let through. */
export const piggybackRead = (setting: string) =>
  `SELECT n.tenant_id::text AS tenant_id, n.body FROM (SELECT ${setting}) s, LATERAL (SELECT * FROM notes) n`

/** One statement that changes the context, then plants a note in B. */
export const piggybackInsert = (setting: string) =>
  `INSERT INTO notes (tenant_id, author_id, body) SELECT ${quotedB}, ${quoteLiteral(b1)}, 'pwned' FROM (SELECT ${setting}) s`

/** One statement that changes the context, then rewrites B's notes. */
export const piggybackUpdate = (setting: string) =>
  `UPDATE notes SET body = 'pwned' FROM (SELECT ${setting}) s WHERE notes.tenant_id = ${quotedB}`

/** Writes aimed at B (run after a context attack): the insert must be refused, the others match 0 rows. */
export const writesIntoB = {
  insert: `INSERT INTO notes (tenant_id, author_id, body) VALUES (${quotedB}, ${quoteLiteral(b1)}, 'pwned')`,
  update: `UPDATE notes SET body = 'pwned' WHERE tenant_id = ${quotedB}`,
  delete: `DELETE FROM notes WHERE tenant_id = ${quotedB}`,
} as const

/** Statements the app role is refused outright, with the SQLSTATE PostgreSQL answers. */
export const refusedStatements: readonly (readonly [name: string, sql: string, sqlstate: string])[] = [
  ['SET ROLE to the owner', 'SET ROLE rowfence_owner', '42501'],
  ['SET SESSION AUTHORIZATION to the owner', 'SET SESSION AUTHORIZATION rowfence_owner', '42501'],
  ['reading the key table', 'SELECT * FROM rowfence.context_keys', '42501'],
  ['current_tenant_id() called with B', `SELECT rowfence.current_tenant_id(${quotedB})`, '42883'],
  ["current_user_id() called with B's user", `SELECT rowfence.current_user_id(${quoteLiteral(b1)})`, '42883'],
  [
    'verified_context() called with a value of its choosing',
    `SELECT rowfence.verified_context(${quoteLiteral(splice(A, B))})`,
    '42883',
  ],
]

/** The tenants whose notes `rows` holds (rows of any shape; those without tenant_id are skipped). */
export function tenantsIn(rows: readonly unknown[]): string[] {
  const tenants = rows.map((row) => (row as { tenant_id?: unknown }).tenant_id)
  return [...new Set(tenants.filter((tenant): tenant is string => typeof tenant === 'string'))].sort()
}

/** What A's queries see after `attack`, as tenantsIn gives it. */
export const seenAfter = (attack: ContextAttack): string[] => (attack.leaves === 'A' ? [A] : [])
