/**
 * Evaluates one policy expression tree (pg_node_tree) in the abstract domain of `abstract-value.ts`, for
 * one scenario of the tenant context. What a context read yields comes from the host (the analyzer).
 */
import {
  bool,
  cast,
  concat,
  equal,
  ERROR,
  fromTruth,
  isMaybe,
  like,
  and,
  negate,
  not,
  NULL,
  or,
  regexMatch,
  CTX,
  ROW,
  taintOf,
  truthOf,
  unknown,
  type Scenario,
  type Truth,
  type Value,
} from './abstract-value.ts'
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
import type { ContextRead, FunctionInfo } from '../types.ts'

/** What the evaluator needs to know about the catalog. */
export interface EvaluatorHost {
  readonly appRole: string
  contextRead(node: PgNode, wrapped: boolean): ContextRead | undefined
  readValue(read: ContextRead, node: PgNode, scenario: Scenario): Value
  functionInfo(oid: number): FunctionInfo | undefined
  operatorName(oid: number): string | undefined
  operatorStrict(oid: number): boolean
  /**
   * A boolean helper of the row (`has_role_on_account(account_id)`) whose body looks the caller's
   * identity up in a table: a membership check, trusted like the tenant context.
   */
  isMembershipCheck(oid: number): boolean
}

/** Whether an expression or sub-query reads the request identity (a context read or `current_user`). */
export function readsIdentity(host: EvaluatorHost, value: PgValue | undefined): boolean {
  if (value === null || value === undefined || typeof value === 'string') return false
  if (Array.isArray(value)) return (value as readonly PgValue[]).some((item) => readsIdentity(host, item))
  if (!isNode(value)) return false
  if (value.type === 'FUNCEXPR' && host.contextRead(value, false)) return true
  if (value.type === 'FUNCEXPR' && host.isMembershipCheck(fieldNumber(value, 'funcid') ?? 0)) return true
  if (value.type === 'SQLVALUEFUNCTION' && sqlUserFunctions.has(fieldNumber(value, 'op') ?? -1)) return true
  return Object.values(value.fields).some((field) => readsIdentity(host, field))
}

/**
 * Whether a sub-query filters by the caller's identity: some comparison in it has a column on one side
 * and only an identity read on the other (`m.user_id = auth.uid()`, `t.db_role = current_user`).
 * Merely mentioning the identity (`WHERE auth.uid() IS NOT NULL`) does not count.
 */
export function keyedByIdentity(host: EvaluatorHost, query: PgValue | undefined): boolean {
  return walkNodes(query).some(({ node }) => {
    if (node.type !== 'OPEXPR' && node.type !== 'SCALARARRAYOPEXPR') {
      return node.type === 'FUNCEXPR' && host.isMembershipCheck(fieldNumber(node, 'funcid') ?? 0)
    }
    const args = fieldNodes(node, 'args')
    return (
      args.length === 2 &&
      args.some((arg) => containsVar(arg)) &&
      args.some((arg) => !containsVar(arg) && readsIdentity(host, arg))
    )
  })
}

/** Whether an expression reads any setting (as opposed to only `current_user`, which is never unset). */
function readsSetting(host: EvaluatorHost, value: PgValue | undefined): boolean {
  if (value === null || value === undefined || typeof value === 'string') return false
  if (Array.isArray(value)) return (value as readonly PgValue[]).some((item) => readsSetting(host, item))
  if (!isNode(value)) return false
  if (value.type === 'FUNCEXPR' && host.contextRead(value, false)) return true
  return Object.values(value.fields).some((field) => readsSetting(host, field))
}

/** Whether a tree contains a column reference (any table, any level). */
export function containsVar(value: PgValue | undefined): boolean {
  if (value === null || value === undefined || typeof value === 'string') return false
  if (Array.isArray(value)) return (value as readonly PgValue[]).some((item) => containsVar(item))
  if (!isNode(value)) return false
  if (value.type === 'VAR') return true
  return Object.values(value.fields).some((field) => containsVar(field))
}

const sqlUserFunctions = new Set([9, 10, 11]) // CURRENT_ROLE, CURRENT_USER, USER

/** A simple scalar sub-select: `(SELECT expr)` with no FROM, WHERE or grouping. */
export function simpleSubSelect(sublink: PgNode): PgNode | undefined {
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

export function stripRelabel(node: PgNode): PgNode {
  let current = node
  while (current.type === 'RELABELTYPE') {
    const inner = fieldNode(current, 'arg')
    if (!inner) break
    current = inner
  }
  return current
}

export function isTenantVar(node: PgNode, attnum: number, depth: number): boolean {
  return (
    node.type === 'VAR' &&
    fieldNumber(node, 'varno') === 1 &&
    fieldNumber(node, 'varattno') === attnum &&
    (fieldNumber(node, 'varlevelsup') ?? 0) === depth
  )
}

export function containsTenantVar(node: PgValue | undefined, attnum: number, depth: number): boolean {
  if (node === null || node === undefined || typeof node === 'string') return false
  if (Array.isArray(node)) {
    return (node as readonly PgValue[]).some((item) => containsTenantVar(item, attnum, depth))
  }
  if (!isNode(node)) return false
  if (isTenantVar(node, attnum, depth)) return true
  for (const name in node.fields) {
    const inner = name === 'subselect' && node.type === 'SUBLINK' ? depth + 1 : depth
    if (containsTenantVar(node.fields[name], attnum, inner)) return true
  }
  return false
}

/** Evaluates one expression tree for one scenario. */
export class Evaluator {
  readonly #analyzer: EvaluatorHost
  readonly #scenario: Scenario
  readonly #attnum: number
  readonly #params = new Map<number, Value>()
  #caseValue: Value | undefined

  constructor(analyzer: EvaluatorHost, scenario: Scenario, attnum: number) {
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
        const equality = this.#analyzer.operatorName(fieldNumber(node, 'opno') ?? 0) === '='
        // tenant_id = ANY (my_tenant_ids()): the caller's own tenants.
        if (equality && values[0]?.k === 'row' && values[1]?.k === 'ctx') return bool(false)
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
          ? { k: 'const', type: 19, key: this.#analyzer.appRole, text: this.#analyzer.appRole, role: true }
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
    // A membership helper applied to this row's tenant column: true only for the caller's tenants.
    if (
      this.#analyzer.isMembershipCheck(fieldNumber(node, 'funcid') ?? 0) &&
      fieldNodes(node, 'args').some((arg) => containsTenantVar(arg, this.#attnum, depth))
    ) {
      return bool(false)
    }
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
    if (fn?.volatility !== 'volatile' && derivedFromContext(values)) return CTX
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
    // `claims ->> 'tenant_id'`: a value derived from the caller's identity only is the caller's too.
    if (derivedFromContext(values)) return CTX
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
    if (!inner) return this.#lookup(node, kind, depth)
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

  /**
   * A sub-query with a FROM: a lookup. When it is keyed by the caller's identity (it reads the context,
   * a request-identity function such as auth.uid(), or current_user), what it returns belongs to the
   * caller: `tenant_id IN (SELECT account_id FROM members WHERE user_id = auth.uid())` pins the row
   * like the tenant setting does, and finds nothing while the identity is unset.
   */
  #lookup(node: PgNode, kind: number | undefined, depth: number): Value {
    const query = node.fields['subselect']
    if (!keyedByIdentity(this.#analyzer, query)) return unknown('data')
    const unset = this.#scenario !== 'foreign' && readsSetting(this.#analyzer, query)
    if (kind === 0) {
      // EXISTS (... WHERE m.account_id = outer.tenant_id AND m.user_id = auth.uid())
      return containsTenantVar(query, this.#attnum, depth) ? bool(false) : unknown('data')
    }
    const value = unset ? NULL : CTX
    if (kind === 4) return value
    if (kind === 2) {
      const test = fieldNode(node, 'testexpr')
      if (!test) return unknown('data')
      if (unset) return bool(false) // x IN (empty set)
      this.#params.set(1, value)
      try {
        return this.evaluate(test, depth)
      } finally {
        this.#params.delete(1)
      }
    }
    return unknown('data')
  }
}

/** Some value is the caller's context and every other one is a constant. */
function derivedFromContext(values: readonly Value[]): boolean {
  return (
    values.some((value) => value.k === 'ctx') &&
    values.every((value) => value.k === 'ctx' || value.k === 'const')
  )
}
