import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding, tenantTables } from './finding.ts'
import { escapeRegExp } from '../analysis/policy-analysis.ts'
import { searchPathPinned } from '../analysis/context-trust.ts'
import { CONTEXT_SCHEMA } from '../../schema/model.ts'
import { isGeneratedSignUpBody, SIGN_UP_FUNCTION } from '../../schema/sign-up.ts'
import type { Finding, FunctionInfo, Relation, Rule } from '../types.ts'

/** Matches `FROM|JOIN|UPDATE|INTO|TABLE|USING [ONLY] [schema.]name` in a function body. */
function referencePattern(table: Relation): RegExp {
  const name = (identifier: string): string =>
    `(?:${escapeRegExp(identifier)}|"${escapeRegExp(identifier.replaceAll('"', '""'))}")`
  return new RegExp(
    String.raw`\b(?:from|join|update|into|table|using)\s+(?:only\s+)?(?:${name(table.schema)}\s*\.\s*)?${name(table.name)}(?![\w$"])`,
    'i',
  )
}

/**
 * The sign-up function `rowfence generate` writes, unmodified: it creates a fresh tenant and inserts
 * only into it (see schema/sign-up.ts). A caller-chosen tenant id (text/bigint) is safe only when its
 * first insert goes to the tenants table, which the body does not prove: that stays a warning.
 */
function generatedSignUp(fn: FunctionInfo): 'random' | 'caller' | null {
  if (fn.schema !== CONTEXT_SCHEMA || fn.name !== SIGN_UP_FUNCTION || fn.language !== 'plpgsql') return null
  if (!searchPathPinned(fn) || !isGeneratedSignUpBody(fn.source)) return null
  return fn.source.includes(':= gen_random_uuid();') ? 'random' : 'caller'
}

function touchedTables(
  fn: FunctionInfo,
  tables: readonly Relation[],
  patterns: readonly RegExp[],
): Relation[] {
  return tables.filter((table, i) => fn.dependsOn.includes(table.oid) || patterns[i]!.test(fn.source))
}

export const securityDefinerFunction: Rule = {
  id: 'security-definer-function',
  severity: 'error',
  summary: 'A SECURITY DEFINER function the app role (or PUBLIC) can execute reads or writes tenant tables',
  check: ({ snapshot, analysis }) => {
    const tables = tenantTables(snapshot)
    const patterns = tables.map(referencePattern)
    const findings: Finding[] = []
    for (const fn of snapshot.functions.values()) {
      if (!fn.securityDefiner || fn.isSystem || !fn.appCanExecute) continue
      const signUp = generatedSignUp(fn)
      if (signUp === 'random') continue
      const touched = touchedTables(fn, tables, patterns)
      if (touched.length === 0) continue
      const names = touched.map((table) => table.displayName)
      // A definer that looks the caller up (context, auth.uid(), current_user) before touching rows is
      // the usual way to check membership; worth a review, not an error.
      // One that sets the context itself (set_config) decides whose rows it touches: no mitigation.
      const setsContext = /\bset_config\s*\(/i.test(fn.source) && signUp !== 'caller'
      const checksCaller =
        signUp === 'caller' ||
        (!setsContext &&
          (analysis.contextFunctions.has(fn.oid) || /\b(current_user|session_user)\b/i.test(fn.source)))
      findings.push(
        createFinding(securityDefinerFunction, {
          table: names[0]!,
          object: fn.signature,
          severity: checksCaller ? 'warning' : 'error',
          message:
            `SECURITY DEFINER function ${fn.schema}.${fn.name}, executable by ${snapshot.app.name}, uses ` +
            `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''} with the rights of ${fn.owner}` +
            `${fn.ownerBypassesRls ? ' (which bypasses RLS)' : ''}, not the app role's policies` +
            (checksCaller ? `; it reads the caller's identity, so check that every path filters by it` : ''),
          fix:
            `ALTER FUNCTION ${fn.signature} SECURITY INVOKER;\n` +
            `-- or, if it must stay a definer: REVOKE EXECUTE ON FUNCTION ${fn.signature} FROM PUBLIC, ${quoteIdentifier(snapshot.app.name)};`,
        }),
      )
    }
    return findings
  },
}
