/**
 * Fix verification: each finding's fix is applied inside a transaction that is always rolled back (one
 * savepoint per fix), the catalog is read again inside it, and the fix counts as `verified` only if it
 * ran and the finding it fixes is gone. Anything else is printed as an unverified suggestion, with why.
 */
import type { ClientBase } from 'pg'
import { collectPlans } from './analysis/collect-plans.ts'
import { analyze } from './analysis/policy-analysis.ts'
import { introspect, type IntrospectOptions } from './catalog/introspect.ts'
import type { Finding, Rule } from './types.ts'

/** More findings than this are not verified one by one (each costs a catalog read). */
export const VERIFY_LIMIT = 200

const transactionControl =
  /^\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE|SET\s+ROLE|SET\s+SESSION|RESET|DISCARD|VACUUM|CHECKPOINT)\b/i

/** The fix without comment lines: what would actually run. */
export function executableSql(fix: string): string {
  return fix
    .split('\n')
    .filter((line) => !/^\s*--/.test(line) && line.trim() !== '')
    .join('\n')
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  return typeof code === 'string' ? `${message} (SQLSTATE ${code})` : message
}

export async function verifyFixes(
  client: ClientBase,
  findings: readonly Finding[],
  context: {
    readonly options: IntrospectOptions
    readonly rules: readonly Rule[]
    readonly plans: boolean
  },
): Promise<Finding[]> {
  const mark = (finding: Finding, verified: boolean, note?: string): Finding => ({
    ...finding,
    fixStatus: verified ? 'verified' : 'unverified',
    ...(note === undefined ? {} : { fixNote: note }),
  })
  const results: Finding[] = []
  await client.query('BEGIN')
  try {
    await client.query(`SET LOCAL lock_timeout = '2s'`)
    await client.query(`SET LOCAL statement_timeout = '30s'`)
    let checked = 0
    for (const finding of findings) {
      const sql = executableSql(finding.fix)
      if (sql === '') {
        results.push(mark(finding, false, 'the fix is advice, not SQL'))
        continue
      }
      if (sql.split(';').some((statement) => transactionControl.test(statement))) {
        results.push(mark(finding, false, 'the fix controls transactions or roles, so it is not run'))
        continue
      }
      if (++checked > VERIFY_LIMIT) {
        results.push(mark(finding, false, `not verified: more than ${VERIFY_LIMIT} findings`))
        continue
      }
      await client.query('SAVEPOINT rowfence_verify')
      try {
        await client.query(sql)
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT rowfence_verify')
        results.push(mark(finding, false, `the fix fails: ${reasonOf(error)}`))
        continue
      }
      try {
        const snapshot = await introspect(client, context.options)
        const analysis = analyze(snapshot)
        const rule = context.rules.find((candidate) => candidate.id === finding.ruleId)
        const plans =
          finding.ruleId === 'context-read-per-row'
            ? await collectPlans(client, analysis, { enabled: context.plans })
            : new Map()
        const still = rule
          ?.check({ snapshot, analysis, plans })
          .some((candidate) => candidate.fingerprint === finding.fingerprint)
        results.push(
          still === false
            ? mark(finding, true)
            : mark(finding, false, 'the fix runs, but the finding is still there afterwards'),
        )
      } catch (error) {
        results.push(mark(finding, false, `re-checking failed: ${reasonOf(error)}`))
      } finally {
        await client.query('ROLLBACK TO SAVEPOINT rowfence_verify')
      }
    }
  } catch (error) {
    // Could not start or keep a writable transaction (read-only server, no privilege): say so.
    const reason = `could not verify: ${reasonOf(error)}`
    for (const finding of findings.slice(results.length)) results.push(mark(finding, false, reason))
  } finally {
    await client.query('ROLLBACK')
  }
  return results
}
