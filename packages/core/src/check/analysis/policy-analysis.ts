/**
 * What a policy expression means for tenant isolation, decided over its resolved expression tree
 * (pg_node_tree) rather than its text.
 *
 * The policy is evaluated (see `policy-evaluator.ts`) for a row that belongs to ANOTHER tenant, in three
 * states of the tenant context:
 *   - foreign: the context holds a valid tenant (not the row's);
 *   - unset:   the setting was never set (`current_setting(name, true)` is NULL);
 *   - empty:   the setting was set once on this connection and reads '' afterwards.
 * Settings that are not the tenant context (say `app.bypass`) are values the app role can choose.
 * A policy is a tenant guard when, in every state, it is never TRUE for the other tenant's row.
 */
import {
  CTX,
  ERROR,
  isMaybe,
  NULL,
  truthOf,
  unknown,
  type Scenario,
  type Truth,
  type Value,
} from './abstract-value.ts'
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import {
  constBoolean,
  constText,
  fieldNode,
  fieldNodes,
  fieldNumber,
  fieldString,
  isNode,
  walkNodes,
  type PgNode,
  type PgValue,
} from './node-tree.ts'
import {
  containsTenantVar,
  containsVar,
  Evaluator,
  isTenantVar,
  simpleSubSelect,
  stripRelabel,
  type EvaluatorHost,
} from './policy-evaluator.ts'
import type {
  CatalogSnapshot,
  Command,
  ContextRead,
  FunctionInfo,
  Policy,
  PolicyExpression,
  Relation,
} from '../types.ts'

export type Verdict =
  /** Never TRUE for another tenant's row, whatever the context state. */
  | { readonly kind: 'guard' }
  /** TRUE for every row (e.g. `USING (true)`). */
  | { readonly kind: 'always' }
  /** TRUE for every row when the tenant context is unset (NULL) or empty (''). */
  | { readonly kind: 'fails-open'; readonly when: 'unset' | 'empty' }
  /** Can be made TRUE for every row by a setting the app role can change. */
  | { readonly kind: 'bypass'; readonly settings: readonly string[] }
  /** Other tenants' rows pass depending on data (no tenant predicate holds them back). */
  | { readonly kind: 'not-scoped' }

/** How the app pins a tenant column, as SQL a fix can reuse. */
export interface TenantPin {
  /** A boolean SQL expression over the tenant column, e.g. `"tenant_id" = (SELECT app.tenant())`. */
  readonly predicate: string
  /** Where it came from, for messages. */
  readonly source: string
}

/** The top-level AND conjuncts of a policy expression, each with its deparsed text. */
function conjuncts(tree: PgNode, sql: string): Array<{ node: PgNode; sql: string }> {
  if (tree.type === 'BOOLEXPR' && fieldString(tree, 'boolop') === 'and') {
    const args = fieldNodes(tree, 'args')
    const parts = splitTopLevel(stripParens(sql), ' AND ')
    if (parts.length === args.length) return args.map((node, i) => ({ node, sql: stripParens(parts[i]!) }))
    return []
  }
  return [{ node: tree, sql: stripParens(sql) }]
}

/** Removes parentheses that enclose the whole expression. */
function stripParens(sql: string): string {
  let text = sql.trim()
  while (text.startsWith('(') && text.endsWith(')') && splitTopLevel(text, '\u0000', true).length === 1) {
    text = text.slice(1, -1).trim()
  }
  return text
}

/**
 * Splits SQL text at a separator outside parentheses and quotes. With `wholeCheck`, returns one part
 * only when the first parenthesis closes at the very end (used to strip enclosing parentheses).
 */
function splitTopLevel(sql: string, separator: string, wholeCheck = false): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  let quote: string | null = null
  for (let i = 0; i < sql.length; i++) {
    const char = sql[i]!
    if (quote) {
      if (char === quote) quote = null
      continue
    }
    if (char === "'" || char === '"') quote = char
    else if (char === '(') depth++
    else if (char === ')') {
      depth--
      if (wholeCheck && depth === 0 && i < sql.length - 1) return [sql, '']
    } else if (depth === 0 && !wholeCheck && sql.startsWith(separator, i)) {
      parts.push(sql.slice(start, i))
      start = i + separator.length
      i += separator.length - 1
    }
  }
  parts.push(sql.slice(start))
  return parts
}

export interface ExpressionFacts {
  /** Every read of a context setting, directly or through a context function. */
  readonly reads: readonly ContextRead[]
  /** Non-LEAKPROOF functions or operators applied to the tenant column. */
  readonly leakyCalls: readonly string[]
  /** Setting reads that are not the tenant context (candidates for a bypass switch). */
  readonly otherSettings: readonly string[]
}

/**
 * The analysis step: one analyzer per snapshot (built by `analyze()` and passed to plans and rules):
 * knows which functions read the context, which settings are the tenant context, and memoizes
 * verdicts per policy inside itself.
 */
export class PolicyAnalyzer implements EvaluatorHost {
  readonly #snapshot: CatalogSnapshot
  readonly #contextFunctions: ReadonlyMap<number, readonly string[]>
  readonly #tenantKeys = new Set<string>()
  readonly #verdicts = new Map<string, Verdict>()
  readonly #facts = new Map<PolicyExpression, ExpressionFacts>()
  readonly #byTable = new Map<number, Policy[]>()
  readonly #pins = new Map<string, TenantPin | null>()

  constructor(snapshot: CatalogSnapshot) {
    this.#snapshot = snapshot
    this.#contextFunctions = findContextFunctions(snapshot.functions)
    for (const policy of snapshot.policies) {
      const list = this.#byTable.get(policy.table.oid)
      if (list) list.push(policy)
      else this.#byTable.set(policy.table.oid, [policy])
    }
    for (const policy of snapshot.policies) {
      const attnum = policy.table.tenantColumn?.attnum
      if (attnum === undefined) continue
      for (const expression of [policy.using, policy.withCheck]) {
        if (expression?.tree) this.#collectTenantKeys(expression.tree, attnum)
      }
    }
  }

  /** The catalog snapshot this analysis is of (never changed). */
  get snapshot(): CatalogSnapshot {
    return this.#snapshot
  }

  /** Functions that read a setting (directly or through another such function), with the settings. */
  get contextFunctions(): ReadonlyMap<number, readonly string[]> {
    return this.#contextFunctions
  }

  /** Whether a read is of the tenant context (as opposed to another setting). */
  isTenantRead(read: ContextRead): boolean {
    return this.#tenantKeys.has(read.key)
  }

  /** Settings the tenant context is read from (for planning with a context set). */
  tenantSettings(): string[] {
    const settings = new Set<string>()
    for (const key of this.#tenantKeys) {
      if (key.startsWith('setting:')) settings.add(key.slice('setting:'.length))
      if (key.startsWith('function:')) {
        const oid = Number(key.slice('function:'.length))
        for (const setting of this.#contextFunctions.get(oid) ?? []) settings.add(setting)
      }
    }
    return [...settings]
  }

  /**
   * The app's own tenant predicate for a tenant column, inferred from the policies that pin it: the
   * most used pinning conjunct (as PostgreSQL deparses it), or a comparison with the schema's
   * zero-argument tenant context function. Null when the schema shows none: fixes then say so
   * instead of inventing a setting the app never sets.
   */
  tenantPin(column: string): TenantPin | null {
    if (this.#pins.has(column)) return this.#pins.get(column) ?? null
    const pin = this.#inferPin(column)
    this.#pins.set(column, pin)
    return pin
  }

  #inferPin(column: string): TenantPin | null {
    const counts = new Map<string, { pin: TenantPin; count: number; leaky: boolean }>()
    const add = (pin: TenantPin, leaky: boolean): void => {
      const known = counts.get(pin.predicate)
      if (known) known.count++
      else counts.set(pin.predicate, { pin, count: 1, leaky })
    }
    for (const policy of this.#snapshot.policies) {
      const tenant = policy.table.tenantColumn
      if (!tenant || tenant.name !== column) continue
      for (const expression of [policy.using, policy.withCheck]) {
        if (!expression?.tree) continue
        for (const conjunct of conjuncts(expression.tree, expression.sql)) {
          if (this.#verdictOf(policy.table, { sql: conjunct.sql, tree: conjunct.node }).kind !== 'guard')
            continue
          const leaky: string[] = []
          this.#collectLeaky(conjunct.node, tenant.attnum, leaky, column)
          const fn = this.#contextFunctionCompared(conjunct.node, tenant.attnum)
          if (fn) {
            const call = `(SELECT ${qualifiedName(fn.schema, fn.name)}())`
            add(
              { predicate: `${quoteIdentifier(column)} = ${call}`, source: `${fn.schema}.${fn.name}()` },
              false,
            )
          } else {
            const source = `policy ${policy.name} on ${policy.table.displayName}`
            add({ predicate: conjunct.sql.replace(/\s*\n\s*/g, ' '), source }, leaky.length > 0)
          }
        }
      }
    }
    // Pins that apply a non-LEAKPROOF cast or function to the column come last.
    const best = [...counts.values()].sort(
      (a, b) => Number(a.leaky) - Number(b.leaky) || b.count - a.count,
    )[0]
    if (best) return best.pin
    // No policy pins this column yet: a zero-argument STABLE function that reads a tenant setting.
    const fn = [...this.#contextFunctions]
      .map(([oid, settings]) => ({ fn: this.#snapshot.functions.get(oid)!, settings }))
      .find(
        ({ fn, settings }) =>
          fn.identityArguments === '' &&
          fn.volatility === 'stable' &&
          settings.some((setting) => /tenant/i.test(setting)),
      )?.fn
    if (!fn) return null
    return {
      predicate: `${quoteIdentifier(column)} = (SELECT ${qualifiedName(fn.schema, fn.name)}())`,
      source: `${fn.schema}.${fn.name}()`,
    }
  }

  /** `column = fn()` or `column = (SELECT fn())` with a zero-argument context function: that function. */
  #contextFunctionCompared(node: PgNode, attnum: number): FunctionInfo | undefined {
    if (node.type !== 'OPEXPR' || this.operatorName(fieldNumber(node, 'opno') ?? 0) !== '=') return undefined
    const args = fieldNodes(node, 'args').map(stripRelabel)
    if (args.length !== 2 || !args.some((arg) => isTenantVar(arg, attnum, 0))) return undefined
    const other = args.find((arg) => !isTenantVar(arg, attnum, 0))
    const call = other?.type === 'SUBLINK' ? simpleSubSelect(other) : other
    if (call?.type !== 'FUNCEXPR' || fieldNodes(call, 'args').length > 0) return undefined
    const oid = fieldNumber(call, 'funcid') ?? 0
    return this.#contextFunctions.has(oid) ? this.#snapshot.functions.get(oid) : undefined
  }

  /** Every policy on a table (whoever it applies to). */
  policiesOf(table: Relation): readonly Policy[] {
    return this.#byTable.get(table.oid) ?? []
  }

  facts(table: Relation, expression: PolicyExpression | null): ExpressionFacts {
    if (!expression?.tree) return { reads: [], leakyCalls: [], otherSettings: [] }
    const known = this.#facts.get(expression)
    if (known) return known
    const reads: ContextRead[] = []
    const leakyCalls: string[] = []
    const attnum = table.tenantColumn?.attnum
    this.#collectReads(expression.tree, false, reads)
    if (attnum !== undefined) {
      this.#collectLeaky(expression.tree, attnum, leakyCalls, table.tenantColumn?.name ?? '')
    }
    const otherSettings = [
      ...new Set(reads.filter((read) => !this.#tenantKeys.has(read.key)).map((read) => read.label)),
    ]
    const facts = { reads, leakyCalls: [...new Set(leakyCalls)], otherSettings }
    this.#facts.set(expression, facts)
    return facts
  }

  /** The verdict for one policy side (`using` or `check`) as the app role sees it. */
  verdict(policy: Policy, side: 'using' | 'check'): Verdict {
    const memoKey = `${policy.table.oid}\u0000${policy.name}\u0000${side}`
    const known = this.#verdicts.get(memoKey)
    if (known) return known
    const expression = side === 'using' ? policy.using : (policy.withCheck ?? policy.using)
    const verdict = this.#verdictOf(policy.table, expression)
    this.#verdicts.set(memoKey, verdict)
    return verdict
  }

  /**
   * Whether RLS keeps other tenants' rows out for one command and side, considering every policy that
   * applies to the app role: a RESTRICTIVE guard is a floor nothing can widen; without one, every
   * PERMISSIVE policy must be a guard itself.
   */
  commandIsGuarded(table: Relation, command: Command, side: 'using' | 'check'): boolean {
    const applicable = this.applicablePolicies(table, command)
    if (applicable.some((policy) => !policy.permissive && this.verdict(policy, side).kind === 'guard')) {
      return true
    }
    return applicable
      .filter((policy) => policy.permissive)
      .every((policy) => this.verdict(policy, side).kind === 'guard')
  }

  /** Whether a RESTRICTIVE guard covers the command and side (a floor). */
  hasFloor(table: Relation, command: Command, side: 'using' | 'check'): boolean {
    return this.applicablePolicies(table, command).some(
      (policy) => !policy.permissive && this.verdict(policy, side).kind === 'guard',
    )
  }

  applicablePolicies(table: Relation, command: Command): Policy[] {
    return this.policiesOf(table).filter((policy) => policy.appliesToApp && policy.commands.includes(command))
  }

  #verdictOf(table: Relation, expression: PolicyExpression | null): Verdict {
    // No expression: PostgreSQL treats a missing USING / WITH CHECK as matching nothing.
    if (!expression?.tree) return { kind: 'guard' }
    const attnum = table.tenantColumn?.attnum ?? -1
    const evaluate = (scenario: Scenario): Truth =>
      truthOf(new Evaluator(this, scenario, attnum).evaluate(expression.tree!, 0))
    const foreign = evaluate('foreign')
    if (foreign === 'true') return { kind: 'always' }
    const unset = evaluate('unset')
    if (unset === 'true') return { kind: 'fails-open', when: 'unset' }
    const empty = evaluate('empty')
    if (empty === 'true') return { kind: 'fails-open', when: 'empty' }
    const truths = [foreign, unset, empty]
    if (truths.some((truth) => isMaybe(truth) && truth.maybe === 'setting')) {
      return { kind: 'bypass', settings: this.facts(table, expression).otherSettings }
    }
    if (truths.some(isMaybe)) return { kind: 'not-scoped' }
    return { kind: 'guard' }
  }

  /** The context read a node performs, if it is one. */
  contextRead(node: PgNode, wrapped: boolean): ContextRead | undefined {
    if (node.type !== 'FUNCEXPR') return undefined
    const oid = fieldNumber(node, 'funcid')
    if (oid === undefined) return undefined
    const fn = this.#snapshot.functions.get(oid)
    if (!fn) return undefined
    if (fn.isSystem && fn.schema === 'pg_catalog' && fn.name === 'current_setting') {
      const [nameArg] = fieldNodes(node, 'args')
      const setting = nameArg ? (constText(nameArg) ?? null) : null
      const shown = setting ?? '?'
      return {
        key: `setting:${shown}`,
        label: `current_setting('${shown}')`,
        setting,
        functionOid: null,
        wrappedInSubSelect: wrapped,
      }
    }
    if (!this.#contextFunctions.has(oid)) return undefined
    // A function of the row (a membership helper) is not a read of the context.
    if (fieldNodes(node, 'args').some((arg) => containsVar(arg))) return undefined
    return {
      key: `function:${oid}`,
      label: `${fn.schema}.${fn.name}()`,
      setting: null,
      functionOid: oid,
      wrappedInSubSelect: wrapped,
    }
  }

  /** How a context read evaluates in a scenario (used by the evaluator). */
  readValue(read: ContextRead, node: PgNode, scenario: Scenario): Value {
    if (!this.#tenantKeys.has(read.key)) return unknown('setting')
    if (scenario === 'foreign') return CTX
    if (read.functionOid === null) {
      const missingOk = fieldNodes(node, 'args')[1]
      const lenient = missingOk ? constBoolean(missingOk) === true : false
      if (scenario === 'unset') return lenient ? NULL : ERROR
      return { k: 'const', type: 25, key: '', text: '' }
    }
    if (scenario === 'unset') return NULL
    const fn = this.#snapshot.functions.get(read.functionOid)
    const returnsText = fn ? /^(text|character varying|character|name)$/.test(fn.returnType) : false
    return returnsText ? { k: 'const', type: 25, key: '', text: '' } : NULL
  }

  isMembershipCheck(oid: number): boolean {
    const fn = this.#snapshot.functions.get(oid)
    if (!fn || fn.isSystem || fn.identityArguments === '' || fn.returnType !== 'boolean') return false
    if (fn.volatility === 'volatile') return false
    const identity =
      this.#contextFunctions.has(oid) || /\b(current_user|session_user|current_role)\b/i.test(fn.source)
    return identity && /\bfrom\b/i.test(fn.source)
  }

  functionInfo(oid: number): FunctionInfo | undefined {
    return this.#snapshot.functions.get(oid)
  }

  operatorName(oid: number): string | undefined {
    return this.#snapshot.operators.get(oid)?.name
  }

  operatorStrict(oid: number): boolean {
    return this.#snapshot.operators.get(oid)?.strict ?? true
  }

  get appRole(): string {
    return this.#snapshot.app.name
  }

  /**
   * Collects context reads. `direct` skips sub-queries with a FROM: a read there filters another table
   * (say, a membership lookup) rather than being compared with this row.
   */
  #collectReads(value: PgValue | undefined, wrapped: boolean, reads: ContextRead[], direct = false): void {
    if (value === null || value === undefined || typeof value === 'string') return
    if (Array.isArray(value)) {
      for (const item of value as readonly PgValue[]) this.#collectReads(item, wrapped, reads, direct)
      return
    }
    if (!isNode(value)) return
    const read = this.contextRead(value, wrapped)
    if (read) reads.push(read)
    if (value.type === 'SUBLINK') {
      const inner = fieldNumber(value, 'subLinkType') === 4 ? simpleSubSelect(value) : undefined
      this.#collectReads(value.fields['testexpr'], wrapped, reads, direct)
      if (inner) this.#collectReads(inner, true, reads, direct)
      else if (!direct) this.#collectReads(value.fields['subselect'], wrapped, reads)
      return
    }
    for (const child of Object.values(value.fields)) this.#collectReads(child, wrapped, reads, direct)
  }

  /** Reads compared (by any operator) with the tenant column become tenant-context keys. */
  #collectTenantKeys(tree: PgNode, attnum: number): void {
    for (const { node, depth } of walkNodes(tree)) {
      if (!['OPEXPR', 'DISTINCTEXPR', 'SCALARARRAYOPEXPR', 'NULLIFEXPR'].includes(node.type)) continue
      const args = fieldNodes(node, 'args')
      const hasTenant = args.map((arg) => containsTenantVar(arg, attnum, depth))
      if (!hasTenant.some(Boolean)) continue
      args.forEach((arg, index) => {
        if (hasTenant[index]) return
        const reads: ContextRead[] = []
        this.#collectReads(arg, false, reads, true)
        for (const read of reads) this.#tenantKeys.add(read.key)
      })
    }
    // A setting or function named after the tenant is the tenant context even when no policy compares
    // it with the column (e.g. a policy that only tests it for NULL).
    const reads: ContextRead[] = []
    this.#collectReads(tree, false, reads)
    for (const read of reads) {
      const settings =
        read.functionOid === null ? [read.setting] : this.#contextFunctions.get(read.functionOid)
      if (/tenant/i.test(read.label) || (settings ?? []).some((setting) => /tenant/i.test(setting ?? ''))) {
        this.#tenantKeys.add(read.key)
      }
    }
  }

  #collectLeaky(tree: PgNode, attnum: number, out: string[], column: string): void {
    for (const { node, depth } of walkNodes(tree)) {
      const args = node.type === 'COERCEVIAIO' ? [fieldNode(node, 'arg')] : fieldNodes(node, 'args')
      const onTenant = args.some((arg) => arg && isTenantVar(stripRelabel(arg), attnum, depth))
      if (!onTenant) continue
      if (node.type === 'COERCEVIAIO') {
        out.push(`${column}::text (an I/O conversion cast)`)
      } else if (node.type === 'FUNCEXPR') {
        const fn = this.#snapshot.functions.get(fieldNumber(node, 'funcid') ?? 0)
        if (fn && !fn.leakproof) out.push(`${fn.schema}.${fn.name}(${column})`)
      } else if (['OPEXPR', 'DISTINCTEXPR', 'NULLIFEXPR', 'SCALARARRAYOPEXPR'].includes(node.type)) {
        const operator = this.#snapshot.operators.get(fieldNumber(node, 'opno') ?? 0)
        if (operator && !operator.leakproof) {
          out.push(`operator ${operator.name} (${operator.functionName}) on ${column}`)
        }
      }
    }
  }
}

const settingPattern = /current_setting\s*\(\s*'((?:[^']|'')*)'/gi

function findContextFunctions(functions: ReadonlyMap<number, FunctionInfo>): Map<number, string[]> {
  const found = new Map<number, string[]>()
  const candidates = [...functions.values()].filter((fn) => !fn.isSystem)
  for (const fn of candidates) {
    if (/\bcurrent_setting\s*\(/i.test(fn.source)) {
      found.set(
        fn.oid,
        [...fn.source.matchAll(settingPattern)].map((match) => match[1]!.replaceAll("''", "'")),
      )
    }
  }
  // Wrappers of wrappers, a few levels deep.
  for (let round = 0; round < 3; round++) {
    let added = false
    for (const fn of candidates) {
      if (found.has(fn.oid)) continue
      for (const [oid, settings] of [...found]) {
        const inner = functions.get(oid)!
        const call = new RegExp(`(^|[^\\w$])"?${escapeRegExp(inner.name)}"?\\s*\\(`, 'i')
        if (call.test(fn.source)) {
          found.set(fn.oid, settings)
          added = true
          break
        }
      }
    }
    if (!added) break
  }
  return found
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Analyzes a snapshot (introspect -> analyze -> plans -> rules). */
export function analyze(snapshot: CatalogSnapshot): PolicyAnalyzer {
  return new PolicyAnalyzer(snapshot)
}
