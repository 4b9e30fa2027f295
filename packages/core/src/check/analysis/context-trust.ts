/**
 * Whom the policies trust: a context read is forgeable when it ends in a custom setting (`current_setting`)
 * that nothing verifies. PostgreSQL lets ANY role set a custom (placeholder) setting with `set_config()`
 * or `SET`, so the app role, and one SQL injection running as it, can write whatever tenant id it likes
 * there. A read is trusted only when it goes through a verifier: a `SECURITY DEFINER` function with a
 * pinned `search_path`, not owned by the app role, that computes a MAC (sha256/hmac/digest) with a secret
 * from a table the app role cannot read, such as the generated `rowfence.verified_context()`.
 */
import { escapeRegExp, type PolicyAnalyzer } from './policy-analysis.ts'
import type { CatalogSnapshot, ContextRead, FunctionInfo } from '../types.ts'

const macPattern = /\b(?:sha224|sha256|sha384|sha512|hmac|digest)\s*\(/i
const settingPattern = /current_setting\s*\(\s*'((?:[^']|'')*)'/gi

/** search_path set on the function, pg_catalog first and pg_temp last (nothing can be slipped in before). */
export function searchPathPinned(fn: FunctionInfo): boolean {
  const path = fn.config.find((setting) => setting.startsWith('search_path='))
  const parts = path
    ?.slice('search_path='.length)
    .split(',')
    .map((part) => part.trim().replace(/^"|"$/g, ''))
  return parts !== undefined && parts[0] === 'pg_catalog' && parts.at(-1) === 'pg_temp'
}

/**
 * A function that verifies the setting it reads against a secret the app role cannot read: SECURITY
 * DEFINER, pinned search_path, owned by another role, a MAC computed in its body, and every table its
 * body reads (the key table) unreadable to the app role.
 */
export function isVerifier(fn: FunctionInfo, snapshot: CatalogSnapshot): boolean {
  return (
    fn.securityDefiner &&
    !fn.isSystem &&
    fn.owner !== snapshot.app.name &&
    searchPathPinned(fn) &&
    macPattern.test(fn.source) &&
    fn.bodyTables.length > 0 &&
    fn.bodyTables.every((table) => !table.appCanRead)
  )
}

/** The settings a function's own body reads with current_setting(). */
function ownSettings(fn: FunctionInfo): string[] {
  return [...fn.source.matchAll(settingPattern)].map((match) => match[1]!.replaceAll("''", "'"))
}

/**
 * The custom settings a context read trusts without verification: a direct `current_setting(name)`,
 * or the settings a context function reads itself or through the context functions it calls, stopping
 * at a verifier. Empty: every path goes through a verifier (the signed context).
 */
export function forgeableSettings(analysis: PolicyAnalyzer, read: ContextRead): string[] {
  if (read.functionOid === null) return read.setting === null ? [] : [read.setting]
  const snapshot = analysis.snapshot
  const found = new Set<string>()
  const seen = new Set<number>()
  const visit = (oid: number): void => {
    if (seen.has(oid)) return
    seen.add(oid)
    const fn = snapshot.functions.get(oid)
    if (!fn || isVerifier(fn, snapshot)) return
    for (const setting of ownSettings(fn)) found.add(setting)
    for (const callee of analysis.contextFunctions.keys()) {
      if (callee === oid) continue
      const inner = snapshot.functions.get(callee)!
      if (new RegExp(`(^|[^\\w$])"?${escapeRegExp(inner.name)}"?\\s*\\(`, 'i').test(fn.source)) visit(callee)
    }
  }
  visit(read.functionOid)
  return [...found].sort()
}

/** The signed context as the schema verifies it: the setting the verifier reads and its key table. */
export interface SignedContextFacts {
  readonly verifier: FunctionInfo
  /** The setting that carries the signed value (e.g. `rowfence.context`). */
  readonly setting: string
  /** The table the verifier reads its keys from (`schema.name`, as regclass prints it). */
  readonly keyTable: string
}

/** The verifier the tenant context functions go through, if the schema uses a signed context. */
export function signedContext(analysis: PolicyAnalyzer): SignedContextFacts | null {
  const snapshot = analysis.snapshot
  for (const oid of analysis.contextFunctions.keys()) {
    const fn = snapshot.functions.get(oid)!
    if (!isVerifier(fn, snapshot)) continue
    const [setting] = ownSettings(fn)
    const [table] = fn.bodyTables
    if (setting !== undefined && table !== undefined) {
      return { verifier: fn, setting, keyTable: table.name }
    }
  }
  return null
}
