import { RowfenceError } from '../errors.ts'
import type { ColumnType, DefaultModel } from './model.ts'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** The JavaScript values `.default()` accepts for each column type. */
export interface DefaultValueByType {
  uuid: string
  text: string
  integer: number
  bigint: number | bigint
  boolean: boolean
  timestamptz: string
  date: string
  jsonb: JsonValue
  numeric: number | string
  'double precision': number
  bytea: never
}

type NumericType = 'integer' | 'bigint' | 'numeric' | 'double precision'

/** What a column builder has collected; read by `rowfenceSchema()`. */
export interface ColumnState {
  readonly type: ColumnType
  readonly notNull: boolean
  readonly primaryKey: boolean
  readonly unique: boolean
  readonly default: DefaultModel | null
  /** A range check on the value (numbers) or on `length(value)` (text). */
  readonly check: {
    readonly fn: 'length' | null
    readonly min: string | null
    readonly max: string | null
  } | null
}

const invalid = (message: string): RowfenceError => new RowfenceError('ROWFENCE_SCHEMA_INVALID', { message })

function finiteNumberText(value: number | bigint, what: string): string {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${what} must be a finite number`)
  return String(value)
}

function integerText(value: number | bigint, what: string): string {
  if (typeof value === 'bigint') return value.toString()
  if (!Number.isSafeInteger(value)) throw invalid(`${what} must be a safe integer`)
  return String(value)
}

const numericText = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

function defaultModel(type: ColumnType, value: unknown): DefaultModel {
  const wrong = (): RowfenceError =>
    invalid(`.default(${JSON.stringify(value) ?? String(value)}) does not fit a ${type} column`)
  switch (type) {
    case 'uuid':
    case 'text':
    case 'timestamptz':
    case 'date':
      if (typeof value !== 'string') throw wrong()
      return { kind: 'string', value }
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong()
      return { kind: 'boolean', value }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrong()
      return { kind: 'number', value: String(value) }
    case 'bigint':
      if (typeof value !== 'bigint' && (typeof value !== 'number' || !Number.isSafeInteger(value)))
        throw wrong()
      return { kind: 'number', value: value.toString() }
    case 'double precision':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrong()
      return { kind: 'number', value: String(value) }
    case 'numeric':
      if (typeof value === 'number' && Number.isFinite(value)) return { kind: 'number', value: String(value) }
      if (typeof value === 'string' && numericText.test(value)) return { kind: 'number', value }
      throw wrong()
    case 'jsonb':
      if (value === undefined) throw wrong()
      return { kind: 'string', value: JSON.stringify(value) }
    case 'bytea':
      throw wrong()
  }
}

/**
 * A column of a tenant table. Immutable: every modifier returns a new builder, so a builder can be
 * shared between tables. `T` (the SQL type) lets TypeScript refuse `.defaultRandom()` on a text column.
 */
export class ColumnBuilder<T extends ColumnType = ColumnType> {
  readonly type: T
  readonly #state: ColumnState

  constructor(type: T, state?: ColumnState) {
    this.type = type
    this.#state = state ?? {
      type,
      notNull: false,
      primaryKey: false,
      unique: false,
      default: null,
      check: null,
    }
  }

  /** @internal */
  static stateOf(column: ColumnBuilder): ColumnState {
    return column.#state
  }

  #with(change: Partial<ColumnState>): ColumnBuilder<T> {
    return new ColumnBuilder(this.type, { ...this.#state, ...change })
  }

  /** Part of the primary key, which becomes `PRIMARY KEY (tenant_id, <columns>)`. Implies NOT NULL. */
  primaryKey(): ColumnBuilder<T> {
    return this.#with({ primaryKey: true, notNull: true })
  }

  notNull(): ColumnBuilder<T> {
    return this.#with({ notNull: true })
  }

  /** Unique within the tenant: `UNIQUE (tenant_id, <column>)` (global on the tenants table). */
  unique(): ColumnBuilder<T> {
    return this.#with({ unique: true })
  }

  /** A constant default, rendered as a literal. */
  default(value: DefaultValueByType[T]): ColumnBuilder<T> {
    return this.#with({ default: defaultModel(this.type, value) })
  }

  /** `DEFAULT gen_random_uuid()`. */
  defaultRandom(this: ColumnBuilder<'uuid'>): ColumnBuilder<'uuid'> {
    if (this.type !== 'uuid') throw invalid('.defaultRandom() needs a uuid column')
    return this.#with({ default: { kind: 'function', name: 'gen_random_uuid' } })
  }

  /** `DEFAULT now()` (timestamptz) or `DEFAULT CURRENT_DATE` (date). */
  defaultNow<U extends 'timestamptz' | 'date'>(this: ColumnBuilder<U>): ColumnBuilder<U> {
    if (this.type !== 'timestamptz' && this.type !== 'date') {
      throw invalid('.defaultNow() needs a timestamptz or date column')
    }
    return this.#with({
      default: { kind: 'function', name: this.type === 'date' ? 'current_date' : 'now' },
    })
  }

  /** `CHECK (length(column) BETWEEN min AND max)`; pass `null` for an open end. */
  length(this: ColumnBuilder<'text'>, min: number | null, max?: number | null): ColumnBuilder<'text'> {
    if (this.type !== 'text') throw invalid('.length() needs a text column')
    const low = min === null ? null : integerText(min, '.length() minimum')
    const high = max === null || max === undefined ? null : integerText(max, '.length() maximum')
    if (low === null && high === null) throw invalid('.length() needs a minimum or a maximum')
    if (low !== null && high !== null && Number(low) > Number(high)) {
      throw invalid('.length() minimum is larger than its maximum')
    }
    return this.#with({ check: { fn: 'length', min: low, max: high } })
  }

  /** `CHECK (column >= value)`. */
  min<U extends NumericType>(this: ColumnBuilder<U>, value: number | bigint): ColumnBuilder<U> {
    return this.#range('min', value)
  }

  /** `CHECK (column <= value)`. */
  max<U extends NumericType>(this: ColumnBuilder<U>, value: number | bigint): ColumnBuilder<U> {
    return this.#range('max', value)
  }

  #range(end: 'min' | 'max', value: number | bigint): ColumnBuilder<T> {
    if (!['integer', 'bigint', 'numeric', 'double precision'].includes(this.type)) {
      throw invalid(`.${end}() needs a numeric column`)
    }
    const text =
      this.type === 'integer' || this.type === 'bigint'
        ? integerText(value, `.${end}()`)
        : finiteNumberText(value, `.${end}()`)
    const check = { fn: null, min: this.#state.check?.min ?? null, max: this.#state.check?.max ?? null }
    const next = { ...check, [end]: text }
    if (next.min !== null && next.max !== null && Number(next.min) > Number(next.max)) {
      throw invalid('.min() is larger than .max()')
    }
    return this.#with({ check: next })
  }
}

export const uuid = (): ColumnBuilder<'uuid'> => new ColumnBuilder('uuid')
export const text = (): ColumnBuilder<'text'> => new ColumnBuilder('text')
export const integer = (): ColumnBuilder<'integer'> => new ColumnBuilder('integer')
export const bigint = (): ColumnBuilder<'bigint'> => new ColumnBuilder('bigint')
export const boolean = (): ColumnBuilder<'boolean'> => new ColumnBuilder('boolean')
export const timestamptz = (): ColumnBuilder<'timestamptz'> => new ColumnBuilder('timestamptz')
export const date = (): ColumnBuilder<'date'> => new ColumnBuilder('date')
export const jsonb = (): ColumnBuilder<'jsonb'> => new ColumnBuilder('jsonb')
export const numeric = (): ColumnBuilder<'numeric'> => new ColumnBuilder('numeric')
export const doublePrecision = (): ColumnBuilder<'double precision'> => new ColumnBuilder('double precision')
export const bytea = (): ColumnBuilder<'bytea'> => new ColumnBuilder('bytea')
