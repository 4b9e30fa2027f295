/**
 * The schema as data: what `rowfenceSchema()` normalizes a TypeScript definition into, what the snapshot
 * next to the migrations stores (JSON), and what the diff compares. No SQL text lives here; names are raw
 * (unquoted) and only the DDL compiler turns them into SQL.
 */

/** Bumped when the shape changes incompatibly; a snapshot of another version is refused. */
export const SCHEMA_MODEL_VERSION = 1

/** `postgres`: plain PostgreSQL. `citus`: the same DDL plus distribution calls, no policy subqueries. */
export type SchemaFlavour = 'postgres' | 'citus'

export interface SchemaModel {
  readonly version: typeof SCHEMA_MODEL_VERSION
  readonly flavour: SchemaFlavour
  /** The role the application connects as; it gets exactly the grants the policies need. */
  readonly appRole: string
  /** The tenant context the policies read: id types and setting names. */
  readonly context: ContextModel
  /** The tenant sign-up function (`rowfence.sign_up`), or null. */
  readonly signUp: SignUpModel | null
  /** Tables in creation order: the tenants table first, every table after the tables it references. */
  readonly tables: readonly TableModel[]
}

export type { SignUpModel } from './sign-up.ts'
import type { SignUpModel } from './sign-up.ts'

/** The id types of tenants and users, and the settings the context functions read. */
export interface ContextModel {
  readonly tenantIdType: IdType
  readonly userIdType: IdType
  readonly tenantSetting: string
  readonly userSetting: string
  /** The context functions verify a signed value (docs/signed-context.md) instead of trusting plain settings. */
  readonly signed: boolean
  /** The setting carrying the signed value. */
  readonly contextSetting: string
}

/** Tenant and user ids: `uuid` (the default), `text` (e.g. `org_...`) or `bigint`. */
export type IdType = 'uuid' | 'text' | 'bigint'

/** `tenants`: the table whose `id` is the tenant. `tenant`: a table with a `tenant_id` column. */
export type TableKind = 'tenant' | 'tenants'

export interface TableModel {
  readonly name: string
  readonly kind: TableKind
  /** The column the tenant floor compares with the context: `tenant_id`, or `id` on the tenants table. */
  readonly tenantColumn: string
  readonly columns: readonly ColumnModel[]
  readonly primaryKey: KeyModel
  readonly uniques: readonly KeyModel[]
  readonly checks: readonly CheckModel[]
  readonly foreignKeys: readonly ForeignKeyModel[]
  readonly indexes: readonly KeyModel[]
  readonly policies: readonly PolicyModel[]
  /** Privileges of the app role on this table, in canonical order. */
  readonly grants: readonly Privilege[]
  /** Citus only: how the table is spread over the cluster. */
  readonly distribution: DistributionModel | null
}

export type ColumnType =
  | 'uuid'
  | 'text'
  | 'integer'
  | 'bigint'
  | 'boolean'
  | 'timestamptz'
  | 'date'
  | 'jsonb'
  | 'numeric'
  | 'double precision'
  | 'bytea'

export interface ColumnModel {
  readonly name: string
  readonly type: ColumnType
  readonly notNull: boolean
  readonly default: DefaultModel | null
}

/** A column default. Values are data; the compiler renders them as literals. */
export type DefaultModel =
  | { readonly kind: 'string'; readonly value: string }
  /** Numbers are kept as their decimal text so bigint defaults survive JSON. */
  | { readonly kind: 'number'; readonly value: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'function'; readonly name: 'gen_random_uuid' | 'now' | 'current_date' }
  /** The tenant column: the current tenant, so inserts need not repeat it (NULL without a context). */
  | { readonly kind: 'context'; readonly context: 'tenant' }

/** A primary key, unique constraint or index: a name and its columns (tenant column included). */
export interface KeyModel {
  readonly name: string
  readonly columns: readonly string[]
}

/** `length(column) BETWEEN min AND max` (fn `length`) or `column BETWEEN min AND max` (fn null). */
export interface CheckModel {
  readonly name: string
  readonly column: string
  readonly fn: 'length' | null
  readonly min: string | null
  readonly max: string | null
}

export type ReferentialAction = 'no action' | 'restrict' | 'cascade' | 'set null'

export interface ForeignKeyModel {
  readonly name: string
  readonly columns: readonly string[]
  readonly references: { readonly table: string; readonly columns: readonly string[] }
  readonly onDelete: ReferentialAction
  /** For `set null`: the columns to clear (never the tenant column, which stays NOT NULL). */
  readonly setNullColumns: readonly string[]
}

export type PolicyCommand = 'all' | 'select' | 'insert' | 'update' | 'delete'

/** `public` and `current_user` are the SQL keywords; `{ name }` is a role name. */
export type PolicyRole = 'public' | 'current_user' | { readonly name: string }

/** A row predicate, as data: `column = <context function>` and conjunctions of those. */
export type Predicate =
  | { readonly kind: 'context'; readonly column: string; readonly context: 'tenant' | 'user' }
  | { readonly kind: 'and'; readonly all: readonly Predicate[] }

export interface PolicyModel {
  readonly name: string
  readonly mode: 'permissive' | 'restrictive'
  readonly command: PolicyCommand
  readonly roles: readonly PolicyRole[]
  readonly using: Predicate | null
  readonly withCheck: Predicate | null
}

export type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'
export const PRIVILEGE_ORDER: readonly Privilege[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE']

export type DistributionModel =
  { readonly kind: 'hash'; readonly column: string } | { readonly kind: 'reference' }

/** Where the context functions live and the settings they read. */
export const CONTEXT_SCHEMA = 'rowfence'
export const CONTEXT_FUNCTIONS = {
  tenant: 'current_tenant_id',
  user: 'current_user_id',
} as const
