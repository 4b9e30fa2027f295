import type { PgNode } from './analysis/node-tree.ts'
import type { PolicyAnalyzer } from './analysis/policy-analysis.ts'

export type Severity = 'error' | 'warning' | 'info'

/** The four commands RLS distinguishes. A policy `FOR ALL` covers all of them. */
export type Command = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'
export const COMMANDS: readonly Command[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE']

/** One way tenant isolation can fail, as data. */
export interface Finding {
  readonly ruleId: string
  readonly severity: Severity
  /** The relation the finding is about (`schema.name`), or null for database-wide findings. */
  readonly table: string | null
  /** The object at fault inside it (policy, constraint, index, function), when there is one. */
  readonly object: string | null
  /** One line: why isolation can fail. */
  readonly message: string
  /** SQL that fixes it (review before running). */
  readonly fix: string
  /**
   * Whether the fix was applied in a rolled-back transaction, ran, and cleared the finding:
   * `verified`, `unverified` (with the reason in `fixNote`), or `unchecked` (verification was off).
   */
  readonly fixStatus: FixStatus
  /** Why a fix is unverified (the error it raised, or that the finding stayed). */
  readonly fixNote?: string | undefined
  /** Stable across runs: rule id + table + object, never OIDs or message wording. */
  readonly fingerprint: string
}

export type FixStatus = 'verified' | 'unverified' | 'unchecked'

/** What every rule receives: the catalog as read, its analysis, and the plans rule 7 reads. */
export interface RuleInput {
  readonly snapshot: CatalogSnapshot
  readonly analysis: PolicyAnalyzer
  readonly plans: ReadonlyMap<number, PlanEvidence>
}

export interface Rule {
  /** kebab-case, stable: used in baselines, SARIF and `--help`. */
  readonly id: string
  readonly severity: Severity
  /** One line for `--help` and SARIF `shortDescription`. */
  readonly summary: string
  /** Pure: the same input always gives the same findings. */
  check(input: RuleInput): Finding[]
}

export interface AppPrivileges {
  readonly select: boolean
  readonly insert: boolean
  readonly update: boolean
  readonly delete: boolean
  readonly truncate: boolean
  readonly references: boolean
  /** TRIGGER: the app role can attach a trigger that copies other tenants' new rows. */
  readonly trigger: boolean
  /** UPDATE on the tenant column itself (used to plan an UPDATE). */
  readonly updateTenantColumn: boolean
}

export interface Relation {
  readonly oid: number
  readonly schema: string
  readonly name: string
  /** `schema.name`, for people. SQL uses `qualifiedName(schema, name)`. */
  readonly displayName: string
  readonly kind: 'table' | 'partitioned' | 'view' | 'materialized-view' | 'foreign-table'
  readonly isPartition: boolean
  readonly owner: string
  readonly ownerCanLogin: boolean
  readonly ownerBypassesRls: boolean
  /** The owner also owns views or SECURITY DEFINER functions (code that runs with its rights). */
  readonly ownerRunsCode: boolean
  /** The app role is the owner or a member of it. */
  readonly appIsOwner: boolean
  /** The checking role is the owner or a member of it. */
  readonly checkerIsOwner: boolean
  readonly rlsEnabled: boolean
  readonly rlsForced: boolean
  readonly tenantColumn: {
    readonly name: string
    readonly attnum: number
    readonly type: string
  } | null
  /** Columns whose names look like tenant keys (tenant, org, account, team, workspace). */
  readonly tenantLikeColumns: readonly string[]
  /** Marked shared (`COMMENT ON TABLE ... IS '... rowfence:shared ...'` or the `sharedTables` option). */
  readonly shared: boolean
  /** Views only: `security_invoker` is set (PostgreSQL 15+). */
  readonly securityInvoker: boolean
  readonly app: AppPrivileges
  readonly checkerCanSelect: boolean
}

export interface ContextRead {
  /** `setting:<name>` for current_setting(), `function:<schema.name>` for a wrapper function. */
  readonly key: string
  /** What to show: `current_setting('x')` or `rowfence.current_tenant_id()`. */
  readonly label: string
  readonly setting: string | null
  readonly functionOid: number | null
  /** Inside a scalar sub-select without FROM: `(SELECT fn())`, which PostgreSQL runs once (InitPlan). */
  readonly wrappedInSubSelect: boolean
}

export interface PolicyExpression {
  /** Deparsed by `pg_get_expr`, for messages and fixes. */
  readonly sql: string
  readonly tree: PgNode | null
}

export interface Policy {
  readonly table: Relation
  readonly name: string
  readonly commands: readonly Command[]
  readonly permissive: boolean
  readonly roles: readonly string[]
  readonly appliesToApp: boolean
  readonly appliesToChecker: boolean
  readonly using: PolicyExpression | null
  readonly withCheck: PolicyExpression | null
}

export interface FunctionInfo {
  readonly oid: number
  readonly schema: string
  readonly name: string
  /** `schema.name(argument types)`, usable in ALTER FUNCTION. */
  readonly signature: string
  readonly identityArguments: string
  readonly volatility: 'immutable' | 'stable' | 'volatile'
  readonly leakproof: boolean
  readonly strict: boolean
  readonly securityDefiner: boolean
  /** `name=value` settings the function sets (`ALTER FUNCTION ... SET`), e.g. `search_path=pg_catalog, pg_temp`. */
  readonly config: readonly string[]
  readonly returnType: string
  readonly language: string
  readonly source: string
  readonly owner: string
  readonly ownerBypassesRls: boolean
  readonly appCanExecute: boolean
  /** Relations a `BEGIN ATOMIC` body depends on (tracked by PostgreSQL). */
  readonly dependsOn: readonly number[]
  /**
   * SECURITY DEFINER functions only: the relations its body reads (`FROM` / `JOIN` a name that resolves),
   * and whether the app role may SELECT each (a verifier's key table must be unreadable to it).
   */
  readonly bodyTables: ReadonlyArray<{ readonly name: string; readonly appCanRead: boolean }>
  readonly isSystem: boolean
}

export interface OperatorInfo {
  readonly oid: number
  readonly name: string
  readonly functionName: string
  readonly leakproof: boolean
  readonly strict: boolean
}

export interface IndexInfo {
  readonly table: number
  readonly name: string
  readonly unique: boolean
  readonly primary: boolean
  readonly partial: boolean
  readonly valid: boolean
  /** Key columns by attribute number (0 = expression), INCLUDE columns excluded. */
  readonly keyAttnums: readonly number[]
  readonly keyColumns: readonly (string | null)[]
  /** Each key column's default expression (`identity` for identity columns), or null. */
  readonly keyDefaults: readonly (string | null)[]
  /** The constraint backing the index (primary key / unique), if any. */
  readonly constraint: string | null
  /** `pg_get_indexdef()`: CREATE [UNIQUE] INDEX ... USING method (keys) ... */
  readonly definition: string
}

export interface ForeignKey {
  readonly name: string
  readonly table: number
  readonly columns: readonly string[]
  readonly attnums: readonly number[]
  readonly parentDisplayName: string
  readonly parentSchema: string
  readonly parentName: string
  readonly parentColumns: readonly string[]
  readonly parentAttnums: readonly number[]
  readonly parentTenantAttnum: number | null
  readonly parentShared: boolean
}

export interface SequenceDefault {
  readonly table: number
  readonly column: string
  readonly sequence: string
  readonly identity: boolean
  readonly columnType: string
}

export interface ViewDependency {
  readonly view: number
  readonly viewDisplayName: string
  readonly referenced: number
  readonly referencedDisplayName: string
  readonly referencedIsTenantTable: boolean
}

/** How rule 7 looked at a table's query plans. */
export type PlanEvidence =
  | {
      readonly kind: 'plan'
      /** The role the plans were made as. */
      readonly role: string
      /** Per command explained: the context reads found outside an InitPlan (empty = once per query). */
      readonly perRow: ReadonlyArray<{ readonly command: Command; readonly reads: readonly string[] }>
    }
  | { readonly kind: 'unavailable'; readonly reason: string }

export interface RoleFacts {
  readonly name: string
  readonly exists: boolean
  readonly superuser: boolean
  readonly bypassRls: boolean
  /** Superuser or BYPASSRLS roles the app role is a (direct or indirect) member of. */
  readonly privilegedMemberships: ReadonlyArray<{ readonly name: string; readonly why: string }>
}

/** How Citus spreads one table (absent from CitusFacts.tables: a plain table on the coordinator only). */
export interface CitusTable {
  readonly kind: 'distributed' | 'reference' | 'citus-local'
  /** The distribution column of a hash-distributed table. */
  readonly distributionColumn: string | null
  readonly colocationId: number
}

/** What the check knows about Citus in the checked database. */
export interface CitusFacts {
  /** Citus metadata per relation oid; only tables Citus knows. */
  readonly tables: ReadonlyMap<number, CitusTable>
}

export interface CatalogSnapshot {
  readonly serverVersionNum: number
  readonly serverVersion: string
  readonly database: string
  /** The schemas checked. */
  readonly schemas: readonly string[]
  /** The default tenant column (tables may have their own, see `Relation.tenantColumn`). */
  readonly tenantColumn: string
  /** Schemas on which the app role holds CREATE (it can add functions, triggers' code, tables). */
  readonly appCreateSchemas: readonly string[]
  readonly checker: { readonly name: string; readonly superuser: boolean; readonly bypassRls: boolean }
  readonly app: RoleFacts
  /** Every relation of the schema; tenant tables are those with `tenantColumn !== null` (see `tenantTables`). */
  readonly relations: readonly Relation[]
  readonly policies: readonly Policy[]
  readonly functions: ReadonlyMap<number, FunctionInfo>
  readonly operators: ReadonlyMap<number, OperatorInfo>
  readonly indexes: readonly IndexInfo[]
  readonly foreignKeys: readonly ForeignKey[]
  readonly sequenceDefaults: readonly SequenceDefault[]
  readonly viewDependencies: readonly ViewDependency[]
  /** The checking role may SET ROLE to the app role (plans and probes run as the app). */
  readonly canBecomeApp: boolean
  /** Citus metadata when the database has the Citus extension; null otherwise (the Citus rules then pass). */
  readonly citus: CitusFacts | null
}
