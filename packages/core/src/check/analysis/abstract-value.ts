/**
 * The abstract domain the policy evaluator works in: what an expression can be for a row that belongs to
 * another tenant, and SQL's three-valued logic over it (plus "maybe true", tainted by what it depends on).
 */

/** What an unknown depends on: row data, or only settings the app role can change. */
export type Taint = 'data' | 'setting'

/** Abstract values: what an expression can evaluate to for another tenant's row. */
export type Value =
  | { readonly k: 'null' }
  | { readonly k: 'error' }
  | { readonly k: 'bool'; readonly v: boolean }
  | {
      readonly k: 'const'
      readonly type: number
      readonly key: string
      readonly text: string | undefined
      /** The session's role name (`current_user`): a role-per-tenant app pins tenants with it. */
      readonly role?: true
    }
  /** The row's tenant column (or a cast of it). */
  | { readonly k: 'row' }
  /** The tenant context holding a valid tenant that is not the row's. */
  | { readonly k: 'ctx' }
  /** Unknown: depends on data (`data`) or only on settings the app role can change (`setting`). */
  | { readonly k: 'unknown'; readonly via: Taint }

/** A value read as a WHERE clause reads it; `maybe` is true for some data or settings. */
export type Truth = 'true' | 'false' | 'null' | 'error' | { readonly maybe: Taint }

/** The state of the tenant context the expression is evaluated in (see policy-analysis.ts). */
export type Scenario = 'foreign' | 'unset' | 'empty'

export const NULL: Value = { k: 'null' }
export const ERROR: Value = { k: 'error' }
export const ROW: Value = { k: 'row' }
export const CTX: Value = { k: 'ctx' }
export const bool = (v: boolean): Value => ({ k: 'bool', v })
export const unknown = (via: Taint): Value => ({ k: 'unknown', via })

export const textLikeTypes = new Set([25, 1043, 1042, 19])

export function taintOf(values: readonly Value[]): Taint {
  if (values.some((value) => value.k === 'row' || (value.k === 'unknown' && value.via === 'data'))) {
    return 'data'
  }
  if (values.some((value) => value.k === 'ctx' || (value.k === 'unknown' && value.via === 'setting'))) {
    return 'setting'
  }
  return 'data'
}

export function truthOf(value: Value): Truth {
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

export function fromTruth(truth: Truth): Value {
  if (truth === 'true') return bool(true)
  if (truth === 'false') return bool(false)
  if (truth === 'null') return NULL
  if (truth === 'error') return ERROR
  return unknown(truth.maybe)
}

export const isMaybe = (truth: Truth): truth is { maybe: Taint } => typeof truth === 'object'

export function and(truths: readonly Truth[]): Truth {
  if (truths.includes('false')) return 'false'
  if (truths.includes('error')) return 'error'
  if (truths.includes('null')) return 'null'
  const maybes = truths.filter(isMaybe)
  if (maybes.length === 0) return 'true'
  return { maybe: maybes.some((truth) => truth.maybe === 'data') ? 'data' : 'setting' }
}

export function or(truths: readonly Truth[]): Truth {
  if (truths.includes('true')) return 'true'
  const maybes = truths.filter(isMaybe)
  if (maybes.length > 0)
    return { maybe: maybes.some((truth) => truth.maybe === 'setting') ? 'setting' : 'data' }
  if (truths.includes('null')) return 'null'
  if (truths.includes('error')) return 'error'
  return 'false'
}

export function not(truth: Truth): Truth {
  if (truth === 'true') return 'false'
  if (truth === 'false') return 'true'
  return truth
}

export function equal(a: Value, b: Value): Value {
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
  // A role-per-tenant pin (`tenant_id::text = current_user`): the role is the caller's own tenant.
  if (constant?.role && other.k === 'row') return bool(false)
  if (constant && (other.k === 'row' || other.k === 'ctx')) {
    // A tenant value is never ''; any other constant is a hard-coded tenant (data) or a value the app
    // could set the context to (setting).
    if (constant.text === '') return bool(false)
    return unknown(other.k === 'row' ? 'data' : 'setting')
  }
  return unknown(taintOf([a, b]))
}

export function negate(value: Value): Value {
  return fromTruth(not(truthOf(value)))
}

export function like(value: Value, pattern: Value): Value {
  if (value.k === 'error' || pattern.k === 'error') return ERROR
  if (value.k === 'null' || pattern.k === 'null') return NULL
  if (pattern.k === 'const' && pattern.text !== undefined && /^%+$/.test(pattern.text)) {
    return value.k === 'unknown' ? unknown(value.via) : bool(true)
  }
  if (pattern.k === 'ctx' || value.k === 'ctx') return equal(value, pattern)
  return unknown(taintOf([value, pattern]))
}

export function regexMatch(value: Value, pattern: Value): Value {
  if (value.k === 'error' || pattern.k === 'error') return ERROR
  if (value.k === 'null' || pattern.k === 'null') return NULL
  if (pattern.k === 'const' && pattern.text === '') {
    return value.k === 'unknown' ? unknown(value.via) : bool(true)
  }
  return unknown(taintOf([value, pattern]))
}

export function concat(a: Value, b: Value): Value {
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

export function cast(value: Value, resultType: number | undefined): Value {
  if (value.k !== 'const') return value
  const textResult = resultType !== undefined && textLikeTypes.has(resultType)
  if (value.text === '' && !textResult) return ERROR // ''::uuid, ''::int raise
  if (textResult) return value
  return {
    k: 'const',
    type: resultType ?? value.type,
    key: `${value.key}`,
    text: undefined,
    ...(value.role ? { role: true as const } : {}),
  }
}
