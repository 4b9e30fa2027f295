import { asTenant, fromDatabaseError, type TenantContext, type TenantContextConfig } from '@rowfence/core'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bNotesSql,
  contextAttacks,
  ownNotesSql,
  piggybackInsert,
  piggybackRead,
  piggybackUpdate,
  refusedStatements,
  seenAfter,
  tenantsIn,
  writesIntoB,
} from './injection-attacks.ts'
import { A, asA, asB, B, createNotesDatabase, seeded, type NotesDatabase } from './signed-fixture.ts'

/** An ORM adapter's raw-SQL escape hatch: SQL text as the app wrote it (or an injection left it). */
export interface RawSqlEscapeHatch {
  /** Runs `text` through the ORM's raw query API; resolves with the rows. */
  rows(text: string): Promise<readonly unknown[]>
  /** Runs `text` through the ORM's raw statement API; resolves with the number of rows it affected. */
  execute(text: string): Promise<number>
  /** One tenant transaction of the ORM (the adapter's withTenant, with its signed context config). */
  withTenant<T>(context: TenantContext, fn: () => Promise<T>): Promise<T>
  close?(): Promise<void>
}

/** Builds the adapter over the app role's pool with the signed context config. */
export type RawSqlEscapeHatchFactory = (
  pool: pg.Pool,
  contextConfig: TenantContextConfig,
) => RawSqlEscapeHatch | Promise<RawSqlEscapeHatch>

/** The SQLSTATE `promise` rejects with (through fromDatabaseError, whatever the ORM wrapped it in). */
async function sqlstateOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'no error',
    (error: unknown) => fromDatabaseError(error).details?.['sqlstate'],
  )
}

/**
 * Issue 18 through an ORM's raw-SQL escape hatch, on real PostgreSQL with the signed context: as the app
 * role, inside tenant A's transaction (withTenant) and as A's single statement (asTenant), the statements
 * of injection-attacks.ts see 0 rows of B and cannot write into B; B's notes are unchanged afterwards and
 * A's own queries still see A's note.
 */
export function describeRawSqlInjection(orm: string, create: RawSqlEscapeHatchFactory): void {
  describe(`${orm} raw SQL: an injection in tenant A's context cannot reach tenant B (signed context)`, () => {
    let fixture: NotesDatabase
    let raw: RawSqlEscapeHatch
    let bBefore: unknown[]
    beforeAll(async () => {
      fixture = await createNotesDatabase()
      raw = await create(fixture.app, fixture.contextConfig)
      bBefore = await fixture.bNotes()
    })
    afterAll(async () => {
      await raw?.close?.()
      await fixture?.drop()
    })

    const inA = <T>(fn: () => Promise<T>): Promise<T> => raw.withTenant(asA, fn)
    const seen = async (text: string): Promise<string[]> => tenantsIn(await raw.rows(text))
    const aNote = [{ tenant_id: A, body: seeded[A]!.note }]

    it("A's own raw queries see A's note, in a transaction and as one statement (and B's see B's)", async () => {
      expect(await inA(() => raw.rows(ownNotesSql))).toEqual(aNote)
      expect(await asTenant(asA, () => raw.rows(ownNotesSql))).toEqual(aNote)
      expect(await asTenant(asB, () => seen(ownNotesSql))).toEqual([B])
    })

    describe.each(contextAttacks)('$name', (attack) => {
      it('reads in the same statement and after it in the transaction: 0 rows of B', async () => {
        if (attack.setting !== undefined) {
          expect(await inA(() => seen(piggybackRead(attack.setting!)))).toEqual(seenAfter(attack))
        }
        const after = await inA(async () => {
          await raw.execute(attack.statement)
          return {
            all: await seen(ownNotesSql),
            byTenant: await seen(bNotesSql),
          }
        })
        expect(after).toEqual({ all: seenAfter(attack), byTenant: [] })
      })

      it("as one statement (asTenant): 0 rows of B; A's next statement sees A", async () => {
        if (attack.setting !== undefined) {
          expect(await asTenant(asA, () => seen(piggybackRead(attack.setting!)))).toEqual(seenAfter(attack))
        }
        const next = await asTenant(asA, async () => {
          await raw.execute(attack.statement)
          return seen(ownNotesSql)
        })
        expect(next).toEqual([A])
      })

      it('writes into B: the insert is refused (42501), updates and deletes match 0 rows', async () => {
        const afterAttack = <T>(fn: () => Promise<T>) =>
          inA(async () => {
            await raw.execute(attack.statement)
            return fn()
          })
        expect(await sqlstateOf(afterAttack(() => raw.execute(writesIntoB.insert)))).toBe('42501')
        expect(
          await afterAttack(async () => [
            await raw.execute(writesIntoB.update),
            await raw.execute(writesIntoB.delete),
          ]),
        ).toEqual([0, 0])
        if (attack.setting === undefined) return
        expect(await sqlstateOf(asTenant(asA, () => raw.execute(piggybackInsert(attack.setting!))))).toBe(
          '42501',
        )
        expect(await asTenant(asA, () => raw.execute(piggybackUpdate(attack.setting!)))).toBe(0)
      })
    })

    it.each(refusedStatements)('%s is refused (%s): SQLSTATE %s', async (_, sql, sqlstate) => {
      expect(await sqlstateOf(inA(() => raw.rows(sql)))).toBe(sqlstate)
      expect(await sqlstateOf(asTenant(asA, () => raw.rows(sql)))).toBe(sqlstate)
    })

    it("B's notes are exactly as before every attack; A's own requests are unaffected", async () => {
      expect(await fixture.bNotes()).toEqual(bBefore)
      expect(await inA(() => raw.rows(ownNotesSql))).toEqual(aNote)
      expect(await asTenant(asA, () => raw.rows(ownNotesSql))).toEqual(aNote)
    })
  })
}
