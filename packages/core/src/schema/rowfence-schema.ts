import { defineContextConfig, type TenantContextConfig } from '../context/context-config.ts'
import { CONTEXT_SETTING } from '../context/signed-context.ts'
import { TENANT_SETTING, USER_SETTING } from '../context/tenant-context.ts'
import { RowfenceError } from '../errors.ts'
import { ColumnBuilder, type ColumnState } from './columns.ts'
import {
  PRIVILEGE_ORDER,
  SCHEMA_MODEL_VERSION,
  type CheckModel,
  type ColumnModel,
  type ContextModel,
  type ForeignKeyModel,
  type KeyModel,
  type PolicyModel,
  type PolicyRole,
  type Predicate,
  type Privilege,
  type SchemaModel,
  type SignUpModel,
  type TableModel,
} from './model.ts'
import { assertIdentifier, generatedName } from './names.ts'
import { TenantTable, type ReadPolicy, type TableReference, type WritePolicy } from './table.ts'

export const TENANT_COLUMN = 'tenant_id'

export interface RowfenceSchemaOptions {
  /** Every table of the schema; referenced tables must be listed too. Order does not matter. */
  readonly tables: readonly TenantTable[]
  /** The role the application connects as (DML grants only, never the owner). */
  readonly appRole: string
  /** Citus flavour: distribute tenant tables by tenant_id; policies read the context without subqueries. */
  readonly distributed?: boolean
  /**
   * The roles that act as a tenant: the floor and the feature policies apply to them. Default: PUBLIC
   * (every role). Name them (typically the app role and the migrating owner) when other roles get
   * explicit policies of their own, e.g. a platform admin role reading across tenants, which a floor
   * `TO PUBLIC` would cut to nothing.
   */
  readonly tenantRoles?: readonly string[]
  /**
   * The tenant context the policies read, the same config the app passes to `createTenantDatabase`:
   * `tenantIdType` / `userIdType` (`uuid` by default, `text`, `bigint`) and the setting names. Claims
   * are not used here; a hand-written policy reads them with `current_setting(name, true)`.
   */
  readonly context?: TenantContextConfig
  /**
   * Generate `rowfence.sign_up(...)`: a SECURITY DEFINER function the app role may call from a public
   * sign-up route to create a new tenant (and its first member) and get their ids back; it can do
   * nothing else (see docs/schema.md, "Tenant sign-up"). `tenantColumns`: the tenants table's columns
   * the caller provides; `member`: a tenant table (typically users) and its columns.
   */
  readonly signUp?: {
    readonly tenantColumns: readonly string[]
    readonly member?: { readonly table: TenantTable; readonly columns: readonly string[] }
  }
}

/**
 * The context part of the model, from the app's context config (validated, defaults filled in).
 * `signedByDefault`: what `signed` is when the config says nothing (true for a schema defined now, false
 * for a snapshot written before the signed context existed).
 */
export function contextModel(
  config: TenantContextConfig | undefined,
  signedByDefault: boolean,
): ContextModel {
  let valid: TenantContextConfig
  try {
    valid = defineContextConfig(config ?? {})
  } catch (error) {
    throw invalid(`context: ${(error as Error).message}`)
  }
  return {
    tenantIdType: valid.tenantIdType ?? 'uuid',
    userIdType: valid.userIdType ?? 'uuid',
    tenantSetting: valid.tenantSetting ?? TENANT_SETTING,
    userSetting: valid.userSetting ?? USER_SETTING,
    signed: valid.signed ?? (valid.signing !== undefined || signedByDefault),
    contextSetting: valid.contextSetting ?? CONTEXT_SETTING,
  }
}

const brand = Symbol.for('rowfence.schema')

/** A validated schema: the definitions plus their normalized data model. */
export class RowfenceSchema {
  readonly [brand] = true
  readonly model: SchemaModel
  /**
   * The options did not choose the context (`context.signed` / `context.signing` unset): a new schema
   * gets the signed one, and `rowfence generate` keeps whatever an existing schema's migrations have.
   */
  readonly contextByDefault: boolean

  constructor(model: SchemaModel, contextByDefault = false) {
    this.model = model
    this.contextByDefault = contextByDefault
  }
}

/** True for a schema built by `rowfenceSchema()`, also across copies of this package. */
export function isRowfenceSchema(value: unknown): value is RowfenceSchema {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
}

const invalid = (message: string, details?: Record<string, unknown>): RowfenceError =>
  new RowfenceError('ROWFENCE_SCHEMA_INVALID', { message, details })

const contextPredicate = (column: string, which: 'tenant' | 'user'): Predicate => ({
  kind: 'context',
  column,
  context: which,
})

/**
 * Orders tables so that each comes after the tables it references (self-references excepted). Only
 * references into `tables` are followed; normalizeTable() reports any other.
 */
function creationOrder(tables: readonly TenantTable[]): TenantTable[] {
  const listed = new Set<unknown>(tables)
  const ordered: TenantTable[] = []
  const state = new Map<TenantTable, 'visiting' | 'done'>()
  const visit = (table: TenantTable, path: string[]): void => {
    if (state.get(table) === 'done') return
    if (state.get(table) === 'visiting') {
      throw invalid(`Tables reference each other in a cycle: ${[...path, table.name].join(' -> ')}`)
    }
    state.set(table, 'visiting')
    for (const reference of table.options.references ?? []) {
      const parent = (reference as TableReference | undefined)?.table
      if (parent !== table && listed.has(parent)) visit(parent!, [...path, table.name])
    }
    state.set(table, 'done')
    ordered.push(table)
  }
  for (const table of [...tables].sort(
    (a, b) => Number(b.kind === 'tenants') - Number(a.kind === 'tenants'),
  )) {
    visit(table, [])
  }
  return ordered
}

function columnStates(table: TenantTable): [string, ColumnState][] {
  const entries = Object.entries(table.options.columns ?? {})
  if (entries.length === 0) throw invalid(`Table ${JSON.stringify(table.name)} has no columns`)
  return entries.map(([name, builder]) => {
    assertIdentifier(name, `A column name of table ${JSON.stringify(table.name)}`)
    if (!(builder instanceof ColumnBuilder)) {
      throw invalid(`Column ${table.name}.${name} is not a column builder (uuid(), text(), ...)`)
    }
    return [name, ColumnBuilder.stateOf(builder)]
  })
}

function columnList(
  table: TenantTable,
  columns: readonly string[],
  known: Set<string>,
  what: string,
): string[] {
  if (!Array.isArray(columns) || columns.length === 0) {
    throw invalid(`${what} of table ${JSON.stringify(table.name)} needs at least one column`)
  }
  for (const column of columns) {
    if (!known.has(column)) {
      throw invalid(
        `${what} of table ${JSON.stringify(table.name)} names an unknown column ${JSON.stringify(column)}`,
      )
    }
  }
  if (new Set(columns).size !== columns.length) {
    throw invalid(`${what} of table ${JSON.stringify(table.name)} repeats a column`)
  }
  return [...columns]
}

function ownerColumnOf(
  table: TenantTable,
  policy: ReadPolicy | WritePolicy,
  states: Map<string, ColumnState>,
  which: string,
  context: ContextModel,
): string | null {
  if (policy === 'tenant' || policy === 'none') return null
  if (typeof policy !== 'object' || policy === null || typeof policy.ownerColumn !== 'string') {
    throw invalid(
      `policies.${which} of table ${JSON.stringify(table.name)} must be 'tenant', 'none' or { ownerColumn }`,
    )
  }
  const state = states.get(policy.ownerColumn)
  if (!state) {
    throw invalid(
      `policies.${which}.ownerColumn of table ${JSON.stringify(table.name)} names an unknown column ${JSON.stringify(policy.ownerColumn)}`,
    )
  }
  if (state.type !== context.userIdType) {
    throw invalid(
      `The owner column ${table.name}.${policy.ownerColumn} must be a ${context.userIdType} (it is compared with the user id)`,
    )
  }
  return policy.ownerColumn
}

function policiesFor(
  table: TenantTable,
  tenantColumn: string,
  states: Map<string, ColumnState>,
  tenantRoles: readonly PolicyRole[],
  context: ContextModel,
  distributed: boolean,
) {
  const options = table.options.policies ?? {}
  const read: ReadPolicy = options.read ?? 'tenant'
  const write: WritePolicy = options.write ?? (table.kind === 'tenants' ? 'none' : 'tenant')
  if (table.kind === 'tenants' && (read !== 'tenant' || (write !== 'tenant' && write !== 'none'))) {
    throw invalid(
      `The tenants table ${JSON.stringify(table.name)} takes read 'tenant' and write 'tenant' or 'none'`,
    )
  }
  if ((read as string) === 'none')
    throw invalid(`policies.read of table ${JSON.stringify(table.name)} cannot be 'none'`)
  const readOwner = ownerColumnOf(table, read, states, 'read', context)
  const writeOwner = ownerColumnOf(table, write, states, 'write', context)

  const tenant = contextPredicate(tenantColumn, 'tenant')
  const scoped = (owner: string | null): Predicate =>
    owner === null ? tenant : { kind: 'and', all: [tenant, contextPredicate(owner, 'user')] }
  const name = (suffix: string): string => generatedName(table.name, suffix)
  const policy = (
    suffix: string,
    command: PolicyModel['command'],
    using: Predicate | null,
    withCheck: Predicate | null,
  ): PolicyModel => ({
    name: name(suffix),
    mode: 'permissive',
    command,
    roles: tenantRoles,
    using,
    withCheck,
  })

  // The floor: RESTRICTIVE, so no permissive policy (added now or later) can widen it past the tenant.
  // Not on Citus: Citus 13 creates every policy on the shards as PERMISSIVE (measured; the coordinator
  // keeps RESTRICTIVE), where a floor `FOR ALL USING (tenant)` would be ORed with the feature policies and
  // widen "only the author" to "anyone in the tenant". Every generated policy carries the tenant check
  // itself, so the floor adds nothing the shards need; `rowfence check` flags RESTRICTIVE policies on
  // Citus (citus-restrictive-policy).
  const policies: PolicyModel[] = [
    ...(distributed
      ? []
      : [
          {
            name: name('tenant_floor'),
            mode: 'restrictive' as const,
            command: 'all' as const,
            roles: tenantRoles,
            using: tenant,
            withCheck: tenant,
          },
        ]),
    policy('select', 'select', scoped(readOwner), null),
  ]
  const grants: Privilege[] = ['SELECT']
  if (write === 'none') {
    // Read-only for the app role. The role running the migration (the table owner) keeps a
    // tenant-checked write policy: FORCE RLS applies to it too, and seeds go through the tenant context.
    policies.push({
      name: name('maintenance'),
      mode: 'permissive',
      command: 'all',
      roles: ['current_user'],
      using: tenant,
      withCheck: tenant,
    })
  } else {
    const rows = scoped(writeOwner)
    policies.push(
      policy('insert', 'insert', null, rows),
      policy('update', 'update', rows, rows),
      policy('delete', 'delete', rows, null),
    )
    grants.push('INSERT', 'UPDATE', 'DELETE')
  }
  return { policies, grants: PRIVILEGE_ORDER.filter((privilege) => grants.includes(privilege)) }
}

function columnModel(name: string, state: ColumnState): ColumnModel {
  return { name, type: state.type, notNull: state.notNull, default: state.default }
}

function normalizeTable(
  table: TenantTable,
  tenantsTable: TenantTable | undefined,
  known: ReadonlySet<TenantTable>,
  distributed: boolean,
  primaryKeys: Map<TenantTable, { columns: string[]; types: string[] }>,
  tenantRoles: readonly PolicyRole[],
  context: ContextModel,
): TableModel {
  const isTenants = table.kind === 'tenants'
  const states = new Map(columnStates(table))
  const tenantColumn = isTenants ? 'id' : TENANT_COLUMN
  if (!isTenants && states.has(TENANT_COLUMN)) {
    throw invalid(`Table ${JSON.stringify(table.name)} must not define ${TENANT_COLUMN}: rowfence adds it`)
  }
  const own = [...states.keys()]
  const keyColumns = own.filter((column) => states.get(column)?.primaryKey)
  if (isTenants) {
    const id = states.get('id')
    if (!id || id.type !== context.tenantIdType || !id.primaryKey || keyColumns.length !== 1) {
      throw invalid(
        `The tenants table ${JSON.stringify(table.name)} needs id: ${context.tenantIdType}().primaryKey() as its only key (the context's tenantIdType)`,
      )
    }
  } else if (keyColumns.length === 0) {
    throw invalid(`Table ${JSON.stringify(table.name)} needs a primary key column (.primaryKey())`)
  }
  const prefix = isTenants ? [] : [TENANT_COLUMN]
  const allColumns = new Set([...prefix, ...own])

  const columns: ColumnModel[] = [
    ...(isTenants
      ? []
      : [
          {
            name: TENANT_COLUMN,
            type: context.tenantIdType,
            notNull: true,
            // Citus refuses ALTER TABLE on the distribution column ("cannot execute ALTER TABLE command
            // involving partition column"), so existing Citus schemas could never get it: none there.
            default: distributed ? null : ({ kind: 'context', context: 'tenant' } as const),
          },
        ]),
    ...own.map((column) => columnModel(column, states.get(column)!)),
  ]
  const primaryKey: KeyModel = {
    name: generatedName(table.name, 'pkey'),
    columns: [...prefix, ...keyColumns],
  }
  primaryKeys.set(table, {
    columns: keyColumns,
    types: keyColumns.map((column) => states.get(column)!.type),
  })

  const uniques: KeyModel[] = []
  for (const column of own) {
    const state = states.get(column)!
    if (!state.unique) continue
    if (state.primaryKey && keyColumns.length === 1) {
      throw invalid(`Column ${table.name}.${column} is the primary key; .unique() is redundant`)
    }
    uniques.push({ name: generatedName(table.name, column, 'key'), columns: [...prefix, column] })
  }
  for (const list of table.options.unique ?? []) {
    const cols = columnList(table, list, allColumns, 'A unique constraint')
    uniques.push({ name: generatedName(table.name, ...cols, 'key'), columns: [...prefix, ...cols] })
  }

  const checks: CheckModel[] = own.flatMap((column) => {
    const check = states.get(column)!.check
    return check ? [{ name: generatedName(table.name, column, 'check'), column, ...check }] : []
  })

  const foreignKeys: ForeignKeyModel[] = []
  if (!isTenants && tenantsTable) {
    foreignKeys.push({
      name: generatedName(table.name, 'tenant', 'fkey'),
      columns: [TENANT_COLUMN],
      references: { table: tenantsTable.name, columns: ['id'] },
      onDelete: 'no action',
      setNullColumns: [],
    })
  }
  if (isTenants && (table.options as { references?: unknown }).references) {
    throw invalid(`The tenants table ${JSON.stringify(table.name)} cannot reference other tables`)
  }
  for (const reference of (table.options.references ?? []) as readonly TableReference[]) {
    const parent = reference?.table
    if (!(parent instanceof TenantTable) || !known.has(parent)) {
      const sameName = parent instanceof TenantTable && [...known].some((other) => other.name === parent.name)
      throw invalid(
        sameName
          ? `Table ${JSON.stringify(table.name)} references another definition of table ${JSON.stringify(parent.name)} than the one in the schema's tables (references are by object, not by name)`
          : `Table ${JSON.stringify(table.name)} references a table that is not in the schema's tables`,
      )
    }
    if (parent.kind === 'tenants') {
      throw invalid(
        `Table ${JSON.stringify(table.name)} references the tenants table explicitly; ${TENANT_COLUMN} already does`,
      )
    }
    const cols = columnList(table, reference.columns, new Set(own), 'A reference')
    const parentKey = primaryKeys.get(parent)
    if (!parentKey)
      throw invalid(`Table ${JSON.stringify(parent.name)} must be defined before it is referenced`)
    const childTypes = cols.map((column) => states.get(column)!.type)
    if (
      childTypes.length !== parentKey.types.length ||
      childTypes.some((type, i) => type !== parentKey.types[i])
    ) {
      throw invalid(
        `Reference ${table.name} (${cols.join(', ')}) -> ${parent.name} must match the primary key of ${parent.name} (${parentKey.columns.join(', ')}) in number and types`,
      )
    }
    const onDelete = reference.onDelete ?? 'no action'
    if (!['no action', 'restrict', 'cascade', 'set null'].includes(onDelete)) {
      throw invalid(
        `Unknown onDelete ${JSON.stringify(onDelete)} in a reference of table ${JSON.stringify(table.name)}`,
      )
    }
    if (onDelete === 'set null' && cols.some((column) => states.get(column)!.notNull)) {
      throw invalid(
        `onDelete 'set null' needs nullable columns in a reference of table ${JSON.stringify(table.name)}`,
      )
    }
    foreignKeys.push({
      name: generatedName(table.name, ...cols, 'fkey'),
      columns: [TENANT_COLUMN, ...cols],
      references: { table: parent.name, columns: [TENANT_COLUMN, ...parentKey.columns] },
      onDelete,
      setNullColumns: onDelete === 'set null' ? cols : [],
    })
  }

  const indexes: KeyModel[] = []
  const keys = (): KeyModel[] => [primaryKey, ...uniques, ...indexes]
  const covered = (columns: readonly string[]): boolean =>
    keys().some((key) => columns.every((column, i) => key.columns[i] === column))
  for (const list of table.options.indexes ?? []) {
    const cols = columnList(table, list, allColumns, 'An index')
    if (!covered([...prefix, ...cols])) {
      indexes.push({ name: generatedName(table.name, ...cols, 'idx'), columns: [...prefix, ...cols] })
    }
  }
  // Every foreign key gets an index leading with tenant_id (unless a key already starts with its columns).
  for (const foreignKey of foreignKeys) {
    if (!covered(foreignKey.columns)) {
      indexes.push({
        name: generatedName(table.name, ...foreignKey.columns.filter((c) => c !== TENANT_COLUMN), 'idx'),
        columns: [...foreignKey.columns],
      })
    }
  }

  const constraintNames = [primaryKey, ...uniques, ...checks, ...foreignKeys].map((c) => c.name)
  const duplicate = constraintNames.find((name, i) => constraintNames.indexOf(name) !== i)
  if (duplicate)
    throw invalid(
      `Table ${JSON.stringify(table.name)} would have two constraints named ${JSON.stringify(duplicate)}`,
    )

  const { policies, grants } = policiesFor(table, tenantColumn, states, tenantRoles, context, distributed)
  return {
    name: table.name,
    kind: table.kind,
    tenantColumn,
    columns,
    primaryKey,
    uniques,
    checks,
    foreignKeys,
    indexes,
    policies,
    grants,
    distribution: distributed
      ? isTenants
        ? { kind: 'reference' }
        : { kind: 'hash', column: TENANT_COLUMN }
      : null,
  }
}

/** Validates the sign-up option against the normalized tables. */
function signUpModel(
  option: NonNullable<RowfenceSchemaOptions['signUp']>,
  models: readonly TableModel[],
  tenantsTable: TenantTable | undefined,
  context: ContextModel,
): SignUpModel {
  if (!tenantsTable) throw invalid('signUp needs a tenants table (tenantsTable())')
  const tenants = models.find((model) => model.name === tenantsTable.name)!
  /** The caller's columns of one table: known, not keys it may not choose, and every required one. */
  const columnsOf = (table: TableModel, names: readonly string[], what: string, reserved: string[]) => {
    if (!Array.isArray(names)) throw invalid(`${what} must list column names`)
    for (const name of names) {
      if (!table.columns.some((column) => column.name === name) || reserved.includes(name)) {
        throw invalid(`${what} names ${JSON.stringify(name)}, which is not a column the caller may set`)
      }
    }
    const missing = table.columns.filter(
      (column) =>
        column.notNull && !column.default && !reserved.includes(column.name) && !names.includes(column.name),
    )
    if (missing.length > 0) {
      throw invalid(
        `${what} must include ${missing.map((c) => c.name).join(', ')} (NOT NULL without a default)`,
      )
    }
    return [...new Set(names)].map((name) => ({
      name,
      type: table.columns.find((c) => c.name === name)!.type,
    }))
  }
  const tenantIdColumn = tenants.columns.find((column) => column.name === 'id')!
  const random = context.tenantIdType === 'uuid'
  if (!random && tenantIdColumn.default) {
    throw invalid('signUp with text or bigint tenant ids takes the id from the caller; drop the id default')
  }
  let member: SignUpModel['member'] = null
  if (option.member) {
    const table = models.find((model) => model.name === option.member!.table?.name)
    if (!table || table.kind !== 'tenant')
      throw invalid('signUp.member.table must be a tenant table of the schema')
    if (table.policies.some((policy) => policy.withCheck?.kind === 'and')) {
      throw invalid(
        `signUp.member.table ${JSON.stringify(table.name)} has owner-only writes; the first member has no user context yet`,
      )
    }
    const keys = table.primaryKey.columns.filter((column) => column !== TENANT_COLUMN)
    const key = table.columns.find((column) => column.name === keys[0])
    if (keys.length !== 1 || !key?.default) {
      throw invalid(
        `signUp.member.table ${JSON.stringify(table.name)} needs one primary key column with a default`,
      )
    }
    member = {
      table: table.name,
      columns: columnsOf(table, option.member.columns, 'signUp.member.columns', [TENANT_COLUMN, key.name]),
      id: { column: key.name, type: key.type },
    }
  }
  return {
    tenants: {
      table: tenants.name,
      columns: columnsOf(tenants, option.tenantColumns, 'signUp.tenantColumns', ['id']),
    },
    tenantId: { type: context.tenantIdType, source: random ? 'random' : 'caller' },
    member,
  }
}

/**
 * Validates table definitions and turns them into the schema model (data). Every mistake is a
 * ROWFENCE_SCHEMA_INVALID error naming the table and column.
 */
export function rowfenceSchema(options: RowfenceSchemaOptions): RowfenceSchema {
  assertIdentifier(options?.appRole, 'appRole')
  const tables = options.tables
  if (!Array.isArray(tables) || tables.length === 0) throw invalid('A schema needs at least one table')
  for (const table of tables) {
    if (!(table instanceof TenantTable))
      throw invalid('tables must be made with tenantTable() or tenantsTable()')
    assertIdentifier(table.name, 'A table name')
  }
  const names = tables.map((table) => table.name)
  const twice = names.find((name, i) => names.indexOf(name) !== i)
  if (twice !== undefined) throw invalid(`Two tables are named ${JSON.stringify(twice)}`)
  const tenantsTables = tables.filter((table) => table.kind === 'tenants')
  if (tenantsTables.length > 1) throw invalid('A schema has at most one tenants table')

  const reserved = (role: unknown) =>
    typeof role === 'string' &&
    (/^(public|none|current_user|session_user|current_role)$/i.test(role) || /^pg_/i.test(role))
  if (reserved(options.appRole)) throw invalid(`appRole ${JSON.stringify(options.appRole)} is reserved`)
  let tenantRoles: readonly PolicyRole[] = ['public']
  if (options.tenantRoles !== undefined) {
    if (!Array.isArray(options.tenantRoles) || options.tenantRoles.length === 0) {
      throw invalid('tenantRoles must list at least one role (or be left out for PUBLIC)')
    }
    for (const role of options.tenantRoles) {
      assertIdentifier(role, 'A tenant role')
      if (reserved(role)) throw invalid(`tenant role ${JSON.stringify(role)} is reserved`)
    }
    if (!options.tenantRoles.includes(options.appRole)) {
      throw invalid(`tenantRoles must include the app role ${JSON.stringify(options.appRole)}`)
    }
    tenantRoles = [...new Set(options.tenantRoles)].map((role) => ({ name: role }))
  }

  const context = contextModel(options.context, true)
  const known = new Set(tables)
  const primaryKeys = new Map<TenantTable, { columns: string[]; types: string[] }>()
  const models = creationOrder(tables).map((table) =>
    normalizeTable(
      table,
      tenantsTables[0],
      known,
      options.distributed === true,
      primaryKeys,
      tenantRoles,
      context,
    ),
  )

  // Tables and the indexes behind keys share one namespace in PostgreSQL.
  const relations = models.flatMap((table) => [
    table.name,
    table.primaryKey.name,
    ...table.uniques.map((key) => key.name),
    ...table.indexes.map((key) => key.name),
  ])
  const clash = relations.find((name, i) => relations.indexOf(name) !== i)
  if (clash !== undefined) {
    throw invalid(
      `Two tables, keys or indexes would be named ${JSON.stringify(clash)}; rename a table or column`,
    )
  }
  return new RowfenceSchema(
    {
      signUp: options.signUp ? signUpModel(options.signUp, models, tenantsTables[0], context) : null,
      version: SCHEMA_MODEL_VERSION,
      flavour: options.distributed ? 'citus' : 'postgres',
      appRole: options.appRole,
      context,
      tables: models,
    },
    options.context?.signed === undefined && options.context?.signing === undefined,
  )
}
