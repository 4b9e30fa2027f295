/**
 * What a policy expression means for tenant isolation, decided over its resolved expression tree
 * (pg_node_tree) rather than its text.
 *
 * The core is a small abstract interpreter. The policy is evaluated for a row that belongs to ANOTHER
 * tenant, in three states of the tenant context:
 *   - foreign: the context holds a valid tenant (not the row's);
 *   - unset:   the setting was never set (`current_setting(name, true)` is NULL);
 *   - empty:   the setting was set once on this connection and reads '' afterwards.
 * Settings that are not the tenant context (say `app.bypass`) are values the app role can choose.
 * A policy is a tenant guard when, in every state, it is never TRUE for the other tenant's row.
 */
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
import type {
  CatalogSnapshot,
  Command,
  ContextRead,
  FunctionInfo,
  Policy,
  PolicyExpression,
  Relation,
} from './types.ts'

type Taint = 'data' | 'setting'

/** Abstract values: what an expression can evaluate to for another tenant's row. */
type Value =
  | { readonly k: 'null' }
  | { readonly k: 'error' }
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'const'; readonly type: number; readonly key: string; readonly text: string | undefined }
  /** The row's tenant column (or a cast of it). */
  | { readonly k: 'row' }
  /** The tenant context holding a valid tenant that is not the row's. */
  | { readonly k: 'ctx' }
  /** Unknown: depends on data (`data`) or only on settings the app role can change (`setting`). */
  | { readonly k: 'unknown'; readonly via: Taint }

type Truth = 'true' | 'false' | 'null' | 'error' | { readonly maybe: Taint }

type Scenario = 'foreign' | 'unset' | 'empty'

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

const NULL: Value = { k: 'null' }
const ERROR: Value = { k: 'error' }
const ROW: Value = { k: 'row' }
const CTX: Value = { k: 'ctx' }
const bool = (v: boolean): Value => ({ k: 'bool', v })
const unknown = (via: Taint): Value => ({ k: 'unknown', via })

const textLikeTypes = new Set([25, 1043, 1042, 19])
const sqlUserFunctions = new Set([9, 10, 11]) // CURRENT_ROLE, CURRENT_USER, USER

/** A simple scalar sub-select: `(SELECT expr)` with no FROM, WHERE or grouping. */
function simpleSubSelect(sublink: PgNode): PgNode | undefined {
  const query = fieldNode(sublink, 'subselect')
  if (!query) return undefined
  if (fieldNodes(query, 'rtable').length > 0) return undefined
  const jointree = fieldNode(query, 'jointree')
  if (jointree && (fieldNodes(jointree, 'fromlist').length > 0 || isNode(jointree.fields['quals']))) {
    return undefined
  }
  const targets = fieldNodes(query, 'targetList').filter((entry) => fieldString(entry, 'resjunk') !== 'true')
  if (targets.length !== 1) return undefined
  return fieldNode(targets[0]!, 'expr')
}

function taintOf(values: readonly Value[]): Taint {
  if (values.some((value) => value.k === 'row' || (value.k === 'unknown' && value.via === 'data'))) {
    return 'data'
  }
  if (values.some((value) => value.k === 'ctx' || (value.k === 'unknown' && value.via === 'setting'))) {
    return 'setting'
  }
  return 'data'
}

function truthOf(value: Value): Truth {
  switch (value.k) {
    case 'bool':
      return value.v ? 'true' : 'false'
    case 'null':
      return 'null'
    case 'error':
      return 'error'
    case 'unknown':
      return { maybe: value.via }
    default:
      return { maybe: 'data' }
  }
}

function fromTruth(truth: Truth): Value {
  if (truth === 'true') return bool(true)
  if (truth === 'false') return bool(false)
  if (truth === 'null') return NULL
  if (truth === 'error') return ERROR
  return unknown(truth.maybe)
}

const isMaybe = (truth: Truth): truth is { maybe: Taint } => typeof truth === 'object'

function and(truths: readonly Truth[]): Truth {
  if (truths.includes('false')) return 'false'
  if (truths.includes('error')) return 'error'
  if (truths.includes('null')) return 'null'
  const maybes = truths.filter(isMaybe)
  if (maybes.length === 0) return 'true'
  return { maybe: maybes.some((truth) => truth.maybe === 'data') ? 'data' : 'setting' }
}

function or(truths: readonly Truth[]): Truth {
  if (truths.includes('true')) return 'true'
  const maybes = truths.filter(isMaybe)
  if (maybes.length > 0)
    return { maybe: maybes.some((truth) => truth.maybe === 'setting') ? 'setting' : 'data' }
  if (truths.includes('null')) return 'null'
  if (truths.includes('error')) return 'error'
  return 'false'
}

function not(truth: Truth): Truth {
  if (truth === 'true') return 'false'
  if (truth === 'false') return 'true'
  return truth
}

function equal(a: Value, b: Value): Value {
  if (a.k === 'error' || b.k === 'error') return ERROR
  if (a.k === 'null' || b.k === 'null') return NULL
  if (a.k === 'unknown' || b.k === 'unknown') return unknown(taintOf([a, b]))
  if (a.k === 'bool' && b.k === 'bool') return bool(a.v === b.v)
  if (a.k === 'row' && b.k === 'row') return bool(true)
  if (a.k === 'ctx' && b.k === 'ctx') return bool(true)
  if ((a.k === 'row' && b.k === 'ctx') || (a.k === 'ctx' && b.k === 'row')) return bool(false)
  if (a.k === 'const' && b.k === 'const') {
    if (a.text !== undefined && b.text !== undefined) return bool(a.text === b.text)
    if (a.type === b.type) return bool(a.key === b.key)
    return unknown('data')
  }
  const constant = a.k === 'const' ? a : b.k === 'const' ? b : undefined
  const other = constant === a ? b : a
  if (constant && (other.k === 'row' || other.k === 'ctx')) {
    // A tenant value is never ''; any other constant is a hard-coded tenant (data) or a value the app
    // could set the context to (setting).
    if (constant.text === '') return bool(false)
    return unknown(other.k === 'row' ? 'data' : 'setting')
  }
  return unknown(taintOf([a, b]))
}

function negate(value: Value): Value {
  return fromTruth(not(truthOf(value)))
}

function like(value: Value, pattern: Value): Value {
  if (value.k === 'error' || pattern.k === 'error') return ERROR
  if (value.k === 'null' || pattern.k === 'null') return NULL
  if (pattern.k === 'const' && pattern.text !== undefined && /^%+$/.test(pattern.text)) {
    return value.k === 'unknown' ? unknown(value.via) : bool(true)
  }
  if (pattern.k === 'ctx' || value.k === 'ctx') return equal(value, pattern)
  return unknown(taintOf([value, pattern]))
}

function regexMatch(value: Value, pattern: Value): Value {
  if (value.k === 'error' || pattern.k === 'error') return ERROR
  if (value.k === 'null' || pattern.k === 'null') return NULL
  if (pattern.k === 'const' && pattern.text === '') {
    return value.k === 'unknown' ? unknown(value.via) : bool(true)
  }
  return unknown(taintOf([value, pattern]))
}

function concat(a: Value, b: Value): Value {
  if (a.k === 'error' || b.k === 'error') return ERROR
  if (a.k === 'null' || b.k === 'null') return NULL
  if (a.k === 'const' && b.k === 'const' && a.text !== undefined && b.text !== undefined) {
    const text = a.text + b.text
    return { k: 'const', type: 25, key: text, text }
  }
  if (a.k === 'const' && a.text === '') return b
  if (b.k === 'const' && b.text === '') return a
  return unknown(taintOf([a, b]))
}

function cast(value: Value, resultType: number | undefined): Value {
  if (value.k !== 'const') return value
  const textResult = resultType !== undefined && textLikeTypes.has(resultType)
  if (value.text === '' && !textResult) return ERROR // ''::uuid, ''::int raise
  if (textResult) return value
  return { k: 'const', type: resultType ?? value.type, key: `${value.key}`, text: undefined }
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
 * One analyzer per snapshot: knows which functions read the context, which settings are the tenant
 * context, and memoizes verdicts per policy.
 */
export class PolicyAnalyzer {
  readonly #snapshot: CatalogSnapshot
  readonly #contextFunctions: ReadonlyMap<number, readonly string[]>
  readonly #tenantKeys = new Set<string>()
  readonly #verdicts = new Map<string, Verdict>()
  readonly #facts = new WeakMap<PolicyExpression, ExpressionFacts>()
  readonly #byTable = new Map<number, Policy[]>()

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
    if (attnum !== undefined) this.#collectLeaky(expression.tree, attnum, leakyCalls)
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

  #collectLeaky(tree: PgNode, attnum: number, out: string[]): void {
    const column = this.#snapshot.tenantColumn
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

function stripRelabel(node: PgNode): PgNode {
  let current = node
  while (current.type === 'RELABELTYPE') {
    const inner = fieldNode(current, 'arg')
    if (!inner) break
    current = inner
  }
  return current
}

function isTenantVar(node: PgNode, attnum: number, depth: number): boolean {
  return (
    node.type === 'VAR' &&
    fieldNumber(node, 'varno') === 1 &&
    fieldNumber(node, 'varattno') === attnum &&
    (fieldNumber(node, 'varlevelsup') ?? 0) === depth
  )
}

function containsTenantVar(node: PgNode, attnum: number, depth: number): boolean {
  for (const item of walkNodes(node, depth)) {
    if (isTenantVar(item.node, attnum, item.depth)) return true
  }
  return false
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

/** Evaluates one expression tree for one scenario. */
class Evaluator {
  readonly #analyzer: PolicyAnalyzer
  readonly #scenario: Scenario
  readonly #attnum: number
  readonly #params = new Map<number, Value>()
  #caseValue: Value | undefined

  constructor(analyzer: PolicyAnalyzer, scenario: Scenario, attnum: number) {
    this.#analyzer = analyzer
    this.#scenario = scenario
    this.#attnum = attnum
  }

  evaluate(node: PgNode, depth: number): Value {
    const args = (): Value[] => fieldNodes(node, 'args').map((arg) => this.evaluate(arg, depth))
    switch (node.type) {
      case 'VAR':
        return isTenantVar(node, this.#attnum, depth) ? ROW : unknown('data')
      case 'CONST': {
        if (fieldString(node, 'constisnull') === 'true') return NULL
        const flag = constBoolean(node)
        if (flag !== undefined) return bool(flag)
        const text = constText(node)
        const datum = node.fields['constvalue']
        const key =
          text ?? (datum && typeof datum === 'object' && 'bytes' in datum ? datum.bytes.join(',') : '')
        return { k: 'const', type: fieldNumber(node, 'consttype') ?? 0, key, text }
      }
      case 'FUNCEXPR':
        return this.#function(node, depth, args)
      case 'RELABELTYPE':
      case 'COERCEVIAIO':
      case 'COERCETODOMAIN': {
        const inner = fieldNode(node, 'arg')
        return inner ? cast(this.evaluate(inner, depth), fieldNumber(node, 'resulttype')) : unknown('data')
      }
      case 'OPEXPR':
        return this.#operator(node, args())
      case 'DISTINCTEXPR': {
        const [a = NULL, b = NULL] = args()
        if (a.k === 'null' && b.k === 'null') return bool(false)
        if (a.k === 'null' || b.k === 'null') {
          const other = a.k === 'null' ? b : a
          return other.k === 'unknown' ? unknown(other.via) : other.k === 'error' ? ERROR : bool(true)
        }
        return negate(equal(a, b))
      }
      case 'NULLIFEXPR': {
        const [a = NULL, b = NULL] = args()
        const same = truthOf(equal(a, b))
        if (same === 'true') return NULL
        if (same === 'error') return ERROR
        if (isMaybe(same)) return unknown(taintOf([a, fromTruth(same)]))
        return a
      }
      case 'SCALARARRAYOPEXPR': {
        const values = args()
        if (values.some((value) => value.k === 'error')) return ERROR
        if (values.some((value) => value.k === 'null')) return NULL
        return unknown(taintOf(values))
      }
      case 'BOOLEXPR': {
        const truths = args().map(truthOf)
        const op = fieldString(node, 'boolop')
        if (op === 'and') return fromTruth(and(truths))
        if (op === 'or') return fromTruth(or(truths))
        return fromTruth(not(truths[0] ?? 'null'))
      }
      case 'NULLTEST': {
        const inner = fieldNode(node, 'arg')
        const value = inner ? this.evaluate(inner, depth) : unknown('data')
        const isNull: Truth =
          value.k === 'null'
            ? 'true'
            : value.k === 'error'
              ? 'error'
              : value.k === 'unknown'
                ? { maybe: value.via }
                : 'false'
        return fromTruth(fieldNumber(node, 'nulltesttype') === 0 ? isNull : not(isNull))
      }
      case 'BOOLEANTEST':
        return this.#booleanTest(node, depth)
      case 'COALESCEEXPR': {
        const values = args()
        for (let i = 0; i < values.length; i++) {
          const value = values[i]!
          if (value.k === 'null') continue
          if (value.k === 'unknown') return unknown(taintOf(values.slice(i)))
          return value
        }
        return NULL
      }
      case 'SUBLINK':
        return this.#sublink(node, depth)
      case 'CASEEXPR':
        return this.#case(node, depth)
      case 'CASETESTEXPR':
        return this.#caseValue ?? unknown('data')
      case 'PARAM': {
        const bound =
          fieldNumber(node, 'paramkind') === 2
            ? this.#params.get(fieldNumber(node, 'paramid') ?? 0)
            : undefined
        return bound ?? unknown('data')
      }
      case 'SQLVALUEFUNCTION':
        return sqlUserFunctions.has(fieldNumber(node, 'op') ?? -1)
          ? { k: 'const', type: 19, key: this.#analyzer.appRole, text: this.#analyzer.appRole }
          : unknown('data')
      case 'ARRAYEXPR': {
        const elements = fieldNodes(node, 'elements').map((element) => this.evaluate(element, depth))
        if (elements.every((element) => element.k === 'const')) {
          const key = elements.map((element) => (element.k === 'const' ? element.key : '')).join('\u0000')
          return { k: 'const', type: fieldNumber(node, 'array_typeid') ?? 0, key, text: undefined }
        }
        return unknown(taintOf(elements))
      }
      default: {
        // Anything else: unknown, tainted by whatever its direct sub-expressions depend on.
        const children = Object.values(node.fields).flatMap((value) =>
          isNode(value) && value.type !== 'QUERY'
            ? [value]
            : Array.isArray(value)
              ? (value as PgValue[]).filter((item): item is PgNode => isNode(item) && item.type !== 'QUERY')
              : [],
        )
        return unknown(taintOf(children.map((child) => this.evaluate(child, depth))))
      }
    }
  }

  #function(node: PgNode, depth: number, args: () => Value[]): Value {
    const read = this.#analyzer.contextRead(node, false)
    if (read) return this.#analyzer.readValue(read, node, this.#scenario)
    const format = fieldNumber(node, 'funcformat')
    const argNodes = fieldNodes(node, 'args')
    if ((format === 1 || format === 2) && argNodes.length >= 1) {
      return cast(this.evaluate(argNodes[0]!, depth), fieldNumber(node, 'funcresulttype'))
    }
    const values = args()
    if (values.some((value) => value.k === 'error')) return ERROR
    const fn = this.#analyzer.functionInfo(fieldNumber(node, 'funcid') ?? 0)
    if ((fn?.strict ?? true) && values.some((value) => value.k === 'null')) return NULL
    return unknown(taintOf(values))
  }

  #operator(node: PgNode, values: Value[]): Value {
    const opno = fieldNumber(node, 'opno') ?? 0
    const name = this.#analyzer.operatorName(opno)
    const [a = NULL, b] = values
    if (b !== undefined) {
      switch (name) {
        case '=':
          return equal(a, b)
        case '<>':
          return negate(equal(a, b))
        case '~~':
        case '~~*':
          return like(a, b)
        case '!~~':
        case '!~~*':
          return negate(like(a, b))
        case '~':
        case '~*':
          return regexMatch(a, b)
        case '!~':
        case '!~*':
          return negate(regexMatch(a, b))
        case '||':
          return concat(a, b)
      }
    }
    if (values.some((value) => value.k === 'error')) return ERROR
    if (this.#analyzer.operatorStrict(opno) && values.some((value) => value.k === 'null')) return NULL
    return unknown(taintOf(values))
  }

  #booleanTest(node: PgNode, depth: number): Value {
    const inner = fieldNode(node, 'arg')
    const truth = inner ? truthOf(this.evaluate(inner, depth)) : { maybe: 'data' as const }
    if (truth === 'error') return ERROR
    if (isMaybe(truth)) return unknown(truth.maybe)
    const test = fieldNumber(node, 'booltesttype')
    const outcomes: Record<number, boolean> = {
      0: truth === 'true', // IS TRUE
      1: truth !== 'true', // IS NOT TRUE
      2: truth === 'false', // IS FALSE
      3: truth !== 'false', // IS NOT FALSE
      4: truth === 'null', // IS UNKNOWN
      5: truth !== 'null', // IS NOT UNKNOWN
    }
    const outcome = test === undefined ? undefined : outcomes[test]
    return outcome === undefined ? unknown('data') : bool(outcome)
  }

  /** CASE [arg] WHEN ... THEN ... ELSE ... END, evaluated branch by branch. */
  #case(node: PgNode, depth: number): Value {
    const arg = fieldNode(node, 'arg')
    const outer = this.#caseValue
    this.#caseValue = arg ? this.evaluate(arg, depth) : undefined
    try {
      const whens = fieldNodes(node, 'args')
      const fallback = fieldNode(node, 'defresult')
      const resultOf = (when: PgNode): Value => {
        const result = fieldNode(when, 'result')
        return result ? this.evaluate(result, depth) : NULL
      }
      for (let i = 0; i < whens.length; i++) {
        const condition = fieldNode(whens[i]!, 'expr')
        const truth = condition ? truthOf(this.evaluate(condition, depth)) : 'null'
        if (truth === 'true') return resultOf(whens[i]!)
        if (truth === 'error') return ERROR
        if (!isMaybe(truth)) continue
        // Any later branch may be taken: true only if every candidate is true.
        const candidates = [...whens.slice(i).map(resultOf), fallback ? this.evaluate(fallback, depth) : NULL]
        const truths = candidates.map(truthOf)
        if (truths.every((candidate) => candidate === 'true')) return bool(true)
        if (truths.every((candidate) => !isMaybe(candidate) && candidate !== 'true')) return bool(false)
        return unknown(taintOf([...candidates, fromTruth(truth)]))
      }
      return fallback ? this.evaluate(fallback, depth) : NULL
    } finally {
      this.#caseValue = outer
    }
  }

  #sublink(node: PgNode, depth: number): Value {
    const kind = fieldNumber(node, 'subLinkType')
    const inner = simpleSubSelect(node)
    if (!inner) return unknown('data')
    const value = this.evaluate(inner, depth + 1)
    if (kind === 4) return value // EXPR: (SELECT expr)
    if (kind === 2) {
      // ANY: x = ANY (SELECT expr) with one row -> the test expression with the row as its parameter.
      const test = fieldNode(node, 'testexpr')
      if (!test) return unknown('data')
      this.#params.set(1, value)
      try {
        return this.evaluate(test, depth)
      } finally {
        this.#params.delete(1)
      }
    }
    if (kind === 0) return bool(true) // EXISTS (SELECT expr) without FROM: one row
    return unknown('data')
  }
}

const analyzers = new WeakMap<CatalogSnapshot, PolicyAnalyzer>()

/** The analyzer for a snapshot (created once, then shared by every rule). */
export function policyAnalyzer(snapshot: CatalogSnapshot): PolicyAnalyzer {
  let analyzer = analyzers.get(snapshot)
  if (!analyzer) {
    analyzer = new PolicyAnalyzer(snapshot)
    analyzers.set(snapshot, analyzer)
  }
  return analyzer
}
