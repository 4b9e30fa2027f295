import { RowfenceError } from '../errors.ts'
import type { KeyModel, SchemaModel, TableModel } from './model.ts'
import type { Operation } from './operations.ts'

export interface DiffOptions {
  /** Emit DROP TABLE / DROP COLUMN for tables and columns gone from the schema (data is lost). */
  readonly allowDrop?: boolean | undefined
}

/** Structural equality of JSON-like data, independent of key order. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameData(item, b[i]))
  }
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return (
    keysA.length === keysB.length &&
    keysA.every((key) => sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  )
}

const byName = <T extends { name: string }>(items: readonly T[]): Map<string, T> =>
  new Map(items.map((item) => [item.name, item]))

/** Items of `next` that are new or changed, and items of `previous` that are gone or changed. */
function changes<T extends { name: string }>(
  previous: readonly T[],
  next: readonly T[],
): { added: T[]; removed: T[] } {
  const before = byName(previous)
  const after = byName(next)
  const changed = (item: T): boolean => {
    const old = before.get(item.name)
    return old !== undefined && !sameData(old, item)
  }
  return {
    removed: previous.filter((item) => !after.has(item.name) || changed(after.get(item.name)!)),
    added: next.filter((item) => !before.has(item.name) || changed(item)),
  }
}

/** The statements that create one table with its keys, indexes, row-level security, policies and grants. */
function createTableOperations(table: TableModel, model: SchemaModel): Operation[] {
  const name = table.name
  return [
    {
      kind: 'comment',
      text:
        table.kind === 'tenants'
          ? `${JSON.stringify(name)}: the tenants table (its id is the tenant id)`
          : `${JSON.stringify(name)}: tenant table`,
    },
    { kind: 'createTable', table },
    ...(table.distribution
      ? [{ kind: 'distributeTable' as const, table: name, distribution: table.distribution }]
      : []),
    ...table.foreignKeys.map((foreignKey): Operation => ({ kind: 'addForeignKey', table: name, foreignKey })),
    ...table.indexes.map((index): Operation => ({ kind: 'createIndex', table: name, index })),
    { kind: 'enableRls', table: name },
    ...table.policies.map((policy): Operation => ({
      kind: 'createPolicy',
      table: name,
      policy,
      flavour: model.flavour,
    })),
    { kind: 'revokeAllFromPublic', table: name },
    { kind: 'grant', table: name, privileges: table.grants, role: model.appRole },
  ]
}

interface Phases {
  dropPolicies: Operation[]
  revokes: Operation[]
  dropForeignKeys: Operation[]
  dropConstraints: Operation[]
  dropIndexes: Operation[]
  dropColumns: Operation[]
  columns: Operation[]
  constraints: Operation[]
  foreignKeys: Operation[]
  indexes: Operation[]
  policies: Operation[]
  grants: Operation[]
}

/** The changes to a table that exists on both sides, sorted into phases so dependencies hold. */
function alterTable(
  before: TableModel,
  after: TableModel,
  model: SchemaModel,
  phases: Phases,
  problems: string[],
  drops: string[],
): void {
  const table = after.name
  const label = JSON.stringify(table)
  if (before.kind !== after.kind || before.tenantColumn !== after.tenantColumn) {
    problems.push(`table ${label} changed between a tenant table and the tenants table`)
  }
  if (!sameData(before.primaryKey, after.primaryKey))
    problems.push(`the primary key of table ${label} changed`)
  if (!sameData(before.distribution, after.distribution))
    problems.push(`the distribution of table ${label} changed`)

  // Columns.
  const oldColumns = byName(before.columns)
  const newColumns = byName(after.columns)
  for (const column of before.columns) {
    if (!newColumns.has(column.name)) {
      drops.push(`column ${label}.${JSON.stringify(column.name)}`)
      phases.dropColumns.push({ kind: 'dropColumn', table, column: column.name })
    }
  }
  for (const column of after.columns) {
    const old = oldColumns.get(column.name)
    if (!old) {
      if (column.notNull && !column.default) {
        phases.columns.push({
          kind: 'comment',
          text: `${label}.${JSON.stringify(column.name)} is NOT NULL without a default: this fails if ${label} has rows`,
        })
      }
      phases.columns.push({ kind: 'addColumn', table, column })
      continue
    }
    if (old.type !== column.type) {
      phases.columns.push({ kind: 'alterColumnType', table, column: column.name, type: column.type })
    }
    if (!sameData(old.default, column.default)) {
      phases.columns.push(
        column.default
          ? { kind: 'setDefault', table, column: column.name, default: column.default }
          : { kind: 'dropDefault', table, column: column.name },
      )
    }
    if (old.notNull !== column.notNull) {
      phases.columns.push({ kind: column.notNull ? 'setNotNull' : 'dropNotNull', table, column: column.name })
    }
  }

  // Policies only compare uuid columns (tenant and owner columns), which cannot change type, so a
  // type change never has to drop and recreate a policy.
  const policies = changes(before.policies, after.policies)
  for (const policy of policies.removed)
    phases.dropPolicies.push({ kind: 'dropPolicy', table, name: policy.name })
  for (const policy of policies.added) {
    phases.policies.push({ kind: 'createPolicy', table, policy, flavour: model.flavour })
  }

  const revoked = before.grants.filter((privilege) => !after.grants.includes(privilege))
  const granted = after.grants.filter((privilege) => !before.grants.includes(privilege))
  if (revoked.length > 0)
    phases.revokes.push({ kind: 'revoke', table, privileges: revoked, role: model.appRole })
  if (granted.length > 0)
    phases.grants.push({ kind: 'grant', table, privileges: granted, role: model.appRole })

  const foreignKeys = changes(before.foreignKeys, after.foreignKeys)
  for (const key of foreignKeys.removed)
    phases.dropForeignKeys.push({ kind: 'dropConstraint', table, name: key.name })
  for (const foreignKey of foreignKeys.added)
    phases.foreignKeys.push({ kind: 'addForeignKey', table, foreignKey })

  const uniques = changes(before.uniques, after.uniques)
  const checks = changes(before.checks, after.checks)
  for (const key of [...uniques.removed, ...checks.removed]) {
    phases.dropConstraints.push({ kind: 'dropConstraint', table, name: key.name })
  }
  for (const key of uniques.added) phases.constraints.push({ kind: 'addUnique', table, key })
  for (const check of checks.added) phases.constraints.push({ kind: 'addCheck', table, check })

  const indexes = changes<KeyModel>(before.indexes, after.indexes)
  for (const index of indexes.removed) phases.dropIndexes.push({ kind: 'dropIndex', name: index.name })
  for (const index of indexes.added) phases.indexes.push({ kind: 'createIndex', table, index })
}

/**
 * The operations that take a database from `previous` (null: nothing generated yet) to `next`. Order:
 * context functions; everything removed or changed (policies first, as they may use dropped columns);
 * dropped tables; new tables in creation order; then additions to existing tables.
 */
export function diffSchemas(
  previous: SchemaModel | null,
  next: SchemaModel,
  options: DiffOptions = {},
): Operation[] {
  const problems: string[] = []
  const drops: string[] = []
  if (previous) {
    if (previous.flavour !== next.flavour) {
      problems.push(`the flavour changed from ${previous.flavour} to ${next.flavour}`)
    }
    for (const key of ['tenantIdType', 'userIdType'] as const) {
      if (previous.context[key] !== next.context[key]) {
        problems.push(`context.${key} changed from ${previous.context[key]} to ${next.context[key]}`)
      }
    }
    if (previous.appRole !== next.appRole) {
      problems.push(
        `appRole changed from ${JSON.stringify(previous.appRole)} to ${JSON.stringify(next.appRole)}`,
      )
    }
  }
  const oldTables = byName(previous?.tables ?? [])
  const newTables = byName(next.tables)
  const phases: Phases = {
    dropPolicies: [],
    revokes: [],
    dropForeignKeys: [],
    dropConstraints: [],
    dropIndexes: [],
    dropColumns: [],
    columns: [],
    constraints: [],
    foreignKeys: [],
    indexes: [],
    policies: [],
    grants: [],
  }
  for (const table of next.tables) {
    const old = oldTables.get(table.name)
    if (old) alterTable(old, table, next, phases, problems, drops)
  }
  const droppedTables = [...(previous?.tables ?? [])].reverse().filter((table) => !newTables.has(table.name))
  for (const table of droppedTables) drops.push(`table ${JSON.stringify(table.name)}`)
  if (problems.length > 0) {
    throw new RowfenceError('ROWFENCE_SCHEMA_CHANGE_UNSUPPORTED', {
      message: `rowfence generate cannot express: ${problems.join('; ')}. Write that migration by hand, then record the schema with --snapshot-only`,
      details: { problems },
    })
  }
  if (drops.length > 0 && !options.allowDrop) {
    throw new RowfenceError('ROWFENCE_SCHEMA_CHANGE_DESTRUCTIVE', {
      message: `The schema no longer has ${drops.join(', ')}; dropping deletes data. Pass --allow-drop (allowDrop) to generate the DROP statements, or restore the definition`,
      details: { drops },
    })
  }

  const createdTables = next.tables.filter((table) => !oldTables.has(table.name))
  const operations: Operation[] = []
  if (next.flavour === 'citus' && createdTables.length > 0) operations.push({ kind: 'citusSequential' })
  if (!previous || !sameData(previous.context, next.context)) {
    operations.push(
      {
        kind: 'comment',
        text: 'Context functions: STABLE, fail closed (no context -> NULL -> no row matches)',
      },
      { kind: 'createContext', appRole: next.appRole, context: next.context },
    )
  }
  const removals = [
    ...phases.dropPolicies,
    ...phases.revokes,
    ...phases.dropForeignKeys,
    ...phases.dropConstraints,
    ...phases.dropIndexes,
    ...phases.dropColumns,
    ...droppedTables.map((table): Operation => ({ kind: 'dropTable', table: table.name })),
  ]
  if (removals.length > 0) operations.push({ kind: 'comment', text: 'Removed or changed' }, ...removals)
  for (const table of createdTables) operations.push(...createTableOperations(table, next))
  const additions = [
    ...phases.columns,
    ...phases.constraints,
    ...phases.foreignKeys,
    ...phases.indexes,
    ...phases.policies,
    ...phases.grants,
  ]
  if (additions.length > 0) operations.push({ kind: 'comment', text: 'Added or changed' }, ...additions)
  const [signUpBefore, signUpAfter] = [previous?.signUp ?? null, next.signUp]
  // The sign-up sets the new tenant's context the way the context functions read it: a change of the
  // context (e.g. to the signed one) renders it again.
  if (!sameData(signUpBefore, signUpAfter) || (signUpAfter && !sameData(previous?.context, next.context))) {
    operations.push({
      kind: 'comment',
      text: 'Tenant sign-up: creates one new tenant (and its first member), nothing else',
    })
    if (signUpBefore) operations.push({ kind: 'dropSignUp', signUp: signUpBefore })
    if (signUpAfter) {
      operations.push({
        kind: 'createSignUp',
        signUp: signUpAfter,
        appRole: next.appRole,
        context: next.context.signed
          ? { signed: true, contextSetting: next.context.contextSetting }
          : { signed: false, tenantSetting: next.context.tenantSetting },
      })
    }
  }
  return operations
}
