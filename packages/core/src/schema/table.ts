import type { ColumnBuilder } from './columns.ts'
import type { TableKind } from './model.ts'

export type Columns = Record<string, ColumnBuilder>
type ColumnName<C extends Columns> = keyof C & string

/** Who may read rows: the whole tenant, or only the user named by an owner column. */
export type ReadPolicy<Column extends string = string> = 'tenant' | { readonly ownerColumn: Column }

/**
 * Who may insert, update and delete rows: the whole tenant; only the user named by an owner column
 * (`ownerColumn = rowfence.current_user_id()` on the old and the new row); or nobody (`'none'`:
 * read-only for the app role, which gets SELECT only; the migrating role keeps a tenant-checked write
 * policy so seeds and maintenance still work through the tenant context).
 */
export type WritePolicy<Column extends string = string> = 'tenant' | { readonly ownerColumn: Column } | 'none'

export interface TablePolicies<Column extends string = string> {
  /** Default `'tenant'`. */
  readonly read?: ReadPolicy<Column>
  /** Default `'tenant'` (`'none'` on the tenants table). */
  readonly write?: WritePolicy<Column>
}

export type OnDelete = 'no action' | 'restrict' | 'cascade' | 'set null'

export interface TableReference<Column extends string = string> {
  /** The referencing columns, matching the parent's primary key columns (without tenant_id) in order. */
  readonly columns: readonly Column[]
  readonly table: TenantTable
  /** Default `'no action'`. `'set null'` clears only these columns, never tenant_id. */
  readonly onDelete?: OnDelete
}

export interface TenantTableOptions<C extends Columns> {
  readonly columns: C
  /** Composite foreign keys `(tenant_id, columns) -> parent (tenant_id, <primary key>)`. */
  readonly references?: readonly TableReference<ColumnName<C>>[]
  /** Multi-column unique constraints; each becomes `UNIQUE (tenant_id, ...)`. */
  readonly unique?: readonly (readonly ColumnName<C>[])[]
  /** Extra indexes; each leads with tenant_id. Foreign keys get theirs automatically. */
  readonly indexes?: readonly (readonly ColumnName<C>[])[]
  readonly policies?: TablePolicies<ColumnName<C>>
}

export interface TenantsTableOptions<C extends Columns> {
  /** Must contain `id: uuid().primaryKey()`: the tenant id. */
  readonly columns: C
  /** Unique constraints here are global (tenant names, domains): only the migrating role inserts tenants. */
  readonly unique?: readonly (readonly ColumnName<C>[])[]
  readonly indexes?: readonly (readonly ColumnName<C>[])[]
  /** Default `{ read: 'tenant', write: 'none' }`: a tenant sees its own row and cannot change it. */
  readonly policies?: { readonly read?: 'tenant'; readonly write?: 'tenant' | 'none' }
}

/** A table definition; `rowfenceSchema()` validates it and turns it into data. */
export class TenantTable<C extends Columns = Columns> {
  readonly kind: TableKind
  readonly name: string
  /** The column builders, typed, so references and policies can name columns safely. */
  readonly columns: C
  /** The options with column names widened to strings (what `rowfenceSchema()` reads). */
  readonly options: TenantTableOptions<Columns>

  constructor(kind: TableKind, name: string, options: TenantTableOptions<C>) {
    this.kind = kind
    this.name = name
    this.columns = options?.columns
    // keyof makes the options invariant in C; the typed checks happened at the call site.
    this.options = options as unknown as TenantTableOptions<Columns>
  }
}

/**
 * A table holding tenant data. rowfence adds `tenant_id uuid NOT NULL` (referencing the tenants table
 * when the schema has one), puts tenant_id first in every key, index and foreign key, forces row-level
 * security and generates the policies and grants.
 */
export function tenantTable<C extends Columns>(name: string, options: TenantTableOptions<C>): TenantTable<C> {
  return new TenantTable('tenant', name, options)
}

/** The table whose `id` is the tenant id (at most one per schema). */
export function tenantsTable<C extends Columns>(
  name: string,
  options: TenantsTableOptions<C>,
): TenantTable<C> {
  return new TenantTable('tenants', name, options as TenantTableOptions<C>)
}
