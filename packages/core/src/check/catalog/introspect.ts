/**
 * The one module that reads the catalog. Nine set-based queries describe the checked schemas (settings
 * and roles, relations, policies, indexes, foreign keys, sequence defaults, view dependencies,
 * functions, operators), never one query per table or per rule. Everything runs inside the caller's
 * READ ONLY transaction and needs no write privilege. Values are bind parameters. The snapshot is
 * built once and never changed afterwards; analysis and plans are separate steps.
 */
import type { ClientBase } from 'pg'
import { introspectCitus } from './citus.ts'
import { RowfenceError } from '../../errors.ts'
import { qualifiedName } from '../../sql/identifier.ts'
import { fieldNumber, isNode, parseNodeTree, walkNodes, type PgNode } from '../analysis/node-tree.ts'
import type {
  CatalogSnapshot,
  Command,
  ForeignKey,
  FunctionInfo,
  IndexInfo,
  OperatorInfo,
  Policy,
  PolicyExpression,
  Relation,
  SequenceDefault,
  ViewDependency,
} from '../types.ts'

export interface IntrospectOptions {
  /** Schemas whose relations are checked. */
  readonly schemas: readonly string[]
  /** The default tenant column. */
  readonly tenantColumn: string
  /** Per-table tenant columns, keyed by `table` or `schema.table`. */
  readonly tenantColumns?: Readonly<Record<string, string>> | undefined
  readonly appRole: string
  readonly sharedTables: readonly string[]
}

/** Column names that look like tenant keys (used for suggestions and for tables without RLS). */
export const TENANT_LIKE_COLUMN =
  '(^|_)(tenant|org|organization|organisation|account|team|workspace|company)(_id|_uuid|_key)?$'

/** The tenant column of a relation: a per-table override, else the default (SQL, $n = overrides, $m = default). */
function tenantColumnSql(schema: string, table: string, overrides: string, fallback: string): string {
  return `COALESCE(${overrides}::jsonb ->> (${schema} || '.' || ${table}), ${overrides}::jsonb ->> ${table}::text, ${fallback})`
}

/** A table comment containing this marker declares the table shared on purpose (rule 9). */
export const SHARED_MARKER = 'rowfence:shared'

const systemSchemaFilter = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`

const settingsSql = `
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       current_database() AS database,
       me.rolname AS checker, me.rolsuper AS checker_superuser, me.rolbypassrls AS checker_bypassrls,
       ARRAY(SELECT ns.oid FROM pg_namespace ns WHERE ns.nspname = ANY ($1::text[])
              ORDER BY array_position($1::text[], ns.nspname::text))::int8[] AS schema_oids,
       ARRAY(SELECT s FROM unnest($1::text[]) AS s
              WHERE NOT EXISTS (SELECT 1 FROM pg_namespace ns WHERE ns.nspname = s)) AS missing_schemas,
       ARRAY(SELECT ns.nspname::text FROM pg_namespace ns
              WHERE app.oid IS NOT NULL AND ns.nspname = ANY ($1::text[])
                AND has_schema_privilege(app.oid, ns.oid, 'CREATE') ORDER BY 1) AS app_create_schemas,
       app.oid AS app_oid, app.rolsuper AS app_superuser, app.rolbypassrls AS app_bypassrls,
       CASE WHEN app.oid IS NULL THEN false
            WHEN current_setting('server_version_num')::int >= 160000
              THEN pg_has_role(current_user, app.oid, 'SET')
            ELSE pg_has_role(current_user, app.oid, 'MEMBER') END AS can_become_app,
       COALESCE((
         SELECT json_agg(json_build_object('name', r.rolname, 'superuser', r.rolsuper,
                                           'bypassrls', r.rolbypassrls) ORDER BY r.rolname)
           FROM pg_roles r
          WHERE app.oid IS NOT NULL AND r.oid <> app.oid AND (r.rolsuper OR r.rolbypassrls)
            AND pg_has_role(app.oid, r.oid, 'MEMBER')
       ), '[]') AS privileged_memberships
  FROM pg_roles me
  LEFT JOIN pg_roles app ON app.rolname = $2
 WHERE me.rolname = current_user`

const relationsSql = `
WITH code_owners AS (
  SELECT relowner AS owner FROM pg_class WHERE relkind IN ('v', 'm')
  UNION SELECT proowner FROM pg_proc WHERE prosecdef
)
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relispartition AS is_partition,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       COALESCE(c.reloptions, '{}') AS options,
       o.rolname AS owner, o.rolcanlogin AS owner_can_login,
       (o.rolsuper OR o.rolbypassrls) AS owner_bypasses_rls,
       c.relowner IN (SELECT owner FROM code_owners) AS owner_runs_code,
       pg_has_role($2::oid, c.relowner, 'MEMBER') AS app_is_owner,
       pg_has_role(current_user, c.relowner, 'MEMBER') AS checker_is_owner,
       a.attname AS tenant_name, a.attnum AS tenant_attnum, format_type(a.atttypid, a.atttypmod) AS tenant_type,
       ARRAY(SELECT t.attname::text FROM pg_attribute t
              WHERE t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped AND t.attname ~* $5
              ORDER BY t.attnum) AS tenant_like,
       COALESCE(obj_description(c.oid, 'pg_class'), '') AS comment,
       has_any_column_privilege($2::oid, c.oid, 'SELECT') AS app_select,
       has_any_column_privilege($2::oid, c.oid, 'INSERT') AS app_insert,
       has_any_column_privilege($2::oid, c.oid, 'UPDATE') AS app_update,
       has_table_privilege($2::oid, c.oid, 'DELETE') AS app_delete,
       has_table_privilege($2::oid, c.oid, 'TRUNCATE') AS app_truncate,
       has_any_column_privilege($2::oid, c.oid, 'REFERENCES') AS app_references,
       has_table_privilege($2::oid, c.oid, 'TRIGGER') AS app_trigger,
       (a.attnum IS NOT NULL AND has_column_privilege($2::oid, c.oid, a.attnum, 'UPDATE')) AS app_update_tenant,
       has_any_column_privilege(c.oid, 'SELECT') AS checker_select
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_roles o ON o.oid = c.relowner
  LEFT JOIN pg_attribute a
         ON a.attrelid = c.oid AND a.attname = ${tenantColumnSql('n.nspname', 'c.relname', '$4', '$3')}
        AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = ANY ($1::oid[]) AND c.relkind IN ('r', 'p', 'v', 'm')
 ORDER BY n.nspname, c.relname`

const policiesSql = `
SELECT p.polrelid AS table_oid, p.polname AS name, p.polcmd AS cmd, p.polpermissive AS permissive,
       p.polqual AS using_tree, p.polwithcheck AS check_tree,
       pg_get_expr(p.polqual, p.polrelid) AS using_sql,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_sql,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
               FROM unnest(p.polroles) AS r ORDER BY 1) AS roles,
       (0 = ANY (p.polroles) OR EXISTS (
          SELECT 1 FROM unnest(p.polroles) AS r WHERE r <> 0 AND pg_has_role($2::oid, r, 'USAGE'))) AS applies_to_app,
       (0 = ANY (p.polroles) OR EXISTS (
          SELECT 1 FROM unnest(p.polroles) AS r
           WHERE r <> 0 AND pg_has_role(current_user, r, 'USAGE'))) AS applies_to_checker
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = ANY ($1::oid[])
 ORDER BY p.polrelid, p.polname`

const indexesSql = `
SELECT i.indrelid AS table_oid, ic.relname AS name, i.indisunique AS is_unique, i.indisprimary AS is_primary,
       i.indpred IS NOT NULL AS partial, i.indisvalid AS valid, i.indnkeyatts AS key_count,
       i.indkey::int2[] AS attnums,
       ARRAY(SELECT a.attname::text
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              ORDER BY k.n) AS columns,
       ARRAY(SELECT CASE WHEN a.attidentity <> '' THEN 'identity'
                         ELSE pg_get_expr(ad.adbin, ad.adrelid) END
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               LEFT JOIN pg_attrdef ad ON ad.adrelid = i.indrelid AND ad.adnum = k.attnum
              ORDER BY k.n) AS defaults,
       con.conname AS constraint_name, pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_constraint con
         ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
 WHERE c.relnamespace = ANY ($1::oid[])
 ORDER BY i.indrelid, ic.relname`

const foreignKeysSql = `
SELECT con.conname AS name, con.conrelid AS table_oid, con.conkey AS attnums, con.confkey AS parent_attnums,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n)
         AS parent_columns,
       pn.nspname AS parent_schema, pc.relname AS parent_name, pa.attnum AS parent_tenant_attnum,
       COALESCE(obj_description(pc.oid, 'pg_class'), '') AS parent_comment
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_class pc ON pc.oid = con.confrelid
  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  LEFT JOIN pg_attribute pa
         ON pa.attrelid = pc.oid AND pa.attname = ${tenantColumnSql('pn.nspname', 'pc.relname', '$3', '$2')}
        AND pa.attnum > 0 AND NOT pa.attisdropped
 WHERE con.contype = 'f' AND c.relnamespace = ANY ($1::oid[]) AND con.conparentid = 0
 ORDER BY con.conrelid, con.conname`

const sequenceDefaultsSql = `
SELECT a.attrelid AS table_oid, a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS column_type, s.oid::regclass::text AS sequence, false AS identity
  FROM pg_attrdef ad
  JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  JOIN pg_class c ON c.oid = ad.adrelid
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                  AND d.refclassid = 'pg_class'::regclass
  JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
 WHERE c.relnamespace = ANY ($1::oid[])
UNION ALL
SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), s.oid::regclass::text, true
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
  JOIN pg_class c ON c.oid = a.attrelid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
   AND c.relnamespace = ANY ($1::oid[])
 ORDER BY 1, 2`

const viewDependenciesSql = `
SELECT DISTINCT rw.ev_class AS view_oid, vn.nspname AS view_schema, v.relname AS view_name,
       rc.oid AS ref_oid, rn.nspname AS ref_schema, rc.relname AS ref_name,
       (rc.relkind IN ('r', 'p') AND EXISTS (
          SELECT 1 FROM pg_attribute a
           WHERE a.attrelid = rc.oid AND a.attname = ${tenantColumnSql('rn.nspname', 'rc.relname', '$2', '$1')}
             AND a.attnum > 0 AND NOT a.attisdropped))
         AS ref_is_tenant
  FROM pg_rewrite rw
  JOIN pg_class v ON v.oid = rw.ev_class AND v.relkind IN ('v', 'm')
  JOIN pg_namespace vn ON vn.oid = v.relnamespace
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
  JOIN pg_class rc ON rc.oid = d.refobjid AND rc.relkind IN ('r', 'p', 'v', 'm')
  JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE vn.nspname NOT IN ('pg_catalog', 'information_schema') AND vn.nspname NOT LIKE 'pg\\_%'`

/** `FROM` / `JOIN` followed by a (qualified, maybe quoted) name, as a PostgreSQL regular expression literal. */
const bodyTablePattern = String.raw`'\m(?:from|join)\s+((?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))?)'`

function functionsSql(versionNum: number): string {
  // BEGIN ATOMIC bodies (PostgreSQL 14+) are stored as a tree; read them back as text.
  const source =
    versionNum >= 140000 ? `COALESCE(pg_get_function_sqlbody(p.oid), p.prosrc, '')` : `COALESCE(p.prosrc, '')`
  return `
SELECT p.oid, n.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS identity_args,
       p.provolatile AS volatility, p.proleakproof AS leakproof, p.proisstrict AS strict,
       p.prosecdef AS security_definer, format_type(p.prorettype, NULL) AS return_type,
       COALESCE(p.proconfig, '{}') AS config,
       l.lanname AS language,
       CASE WHEN l.lanname IN ('internal', 'c') THEN '' ELSE ${source} END AS source,
       o.rolname AS owner, (o.rolsuper OR o.rolbypassrls) AS owner_bypasses_rls,
       has_function_privilege($2::oid, p.oid, 'EXECUTE') AS app_can_execute,
       ARRAY(SELECT d.refobjid FROM pg_depend d
              WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                AND d.refclassid = 'pg_class'::regclass) AS depends_on,
       CASE WHEN p.prosecdef AND l.lanname NOT IN ('internal', 'c') THEN ARRAY(
         SELECT DISTINCT jsonb_build_object('name', c.oid::regclass::text,
                                            'appCanRead', has_table_privilege($2::oid, c.oid, 'SELECT'))
           FROM regexp_matches(${source}, ${bodyTablePattern}, 'gi') AS m(parts)
           CROSS JOIN LATERAL parse_ident(m.parts[1], false) AS i(names)
           JOIN pg_namespace cn ON cn.nspname = CASE WHEN cardinality(i.names) = 2 THEN i.names[1] END
                               OR (cardinality(i.names) = 1 AND cn.nspname = ANY (current_schemas(false)))
           JOIN pg_class c ON c.relnamespace = cn.oid AND c.relname = i.names[cardinality(i.names)]
                          AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
       ELSE '{}' END AS body_tables,
       NOT (${systemSchemaFilter}) AS is_system
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
  JOIN pg_roles o ON o.oid = p.proowner
 WHERE p.oid = ANY ($1::oid[])
    OR (${systemSchemaFilter} AND l.lanname NOT IN ('internal', 'c')
        AND (p.prosecdef OR ${source} ~* 'current_setting'))
 ORDER BY n.nspname, p.proname, p.oid`
}

const operatorsSql = `
SELECT o.oid, o.oprname AS name, p.proname AS function_name, p.proleakproof AS leakproof, p.proisstrict AS strict
  FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
 WHERE o.oid = ANY ($1::oid[])`

interface SettingsRow {
  version_num: number
  version: string
  database: string
  checker: string
  checker_superuser: boolean
  checker_bypassrls: boolean
  schema_oids: string[]
  missing_schemas: string[]
  app_create_schemas: string[]
  app_oid: number | null
  app_superuser: boolean | null
  app_bypassrls: boolean | null
  can_become_app: boolean
  privileged_memberships: Array<{ name: string; superuser: boolean; bypassrls: boolean }>
}

interface RelationRow {
  oid: number
  schema: string
  name: string
  kind: string
  is_partition: boolean
  rls_enabled: boolean
  rls_forced: boolean
  options: string[]
  owner: string
  owner_can_login: boolean
  owner_bypasses_rls: boolean
  owner_runs_code: boolean
  app_is_owner: boolean
  checker_is_owner: boolean
  tenant_name: string | null
  tenant_like: string[]
  tenant_attnum: number | null
  tenant_type: string | null
  comment: string
  app_select: boolean
  app_insert: boolean
  app_update: boolean
  app_delete: boolean
  app_truncate: boolean
  app_references: boolean
  app_trigger: boolean
  app_update_tenant: boolean
  checker_select: boolean
}

interface PolicyRow {
  table_oid: number
  name: string
  cmd: string
  permissive: boolean
  using_tree: string | null
  check_tree: string | null
  using_sql: string | null
  check_sql: string | null
  roles: string[]
  applies_to_app: boolean
  applies_to_checker: boolean
}

const relationKinds: Record<string, Relation['kind']> = {
  r: 'table',
  p: 'partitioned',
  v: 'view',
  m: 'materialized-view',
}

const policyCommands: Record<string, readonly Command[]> = {
  r: ['SELECT'],
  a: ['INSERT'],
  w: ['UPDATE'],
  d: ['DELETE'],
  '*': ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
}

function parseTree(text: string | null): PgNode | null {
  if (!text) return null
  const value = parseNodeTree(text)
  return isNode(value) ? value : null
}

function expression(sql: string | null, tree: string | null): PolicyExpression | null {
  if (sql === null && tree === null) return null
  return { sql: sql ?? '', tree: parseTree(tree) }
}

const isSecurityInvoker = (options: readonly string[]): boolean =>
  options.some((option) => /^security_invoker=(true|on|yes|1)$/i.test(option))

/** Reads the catalog into a snapshot. The caller owns the (READ ONLY) transaction. */
export async function introspect(client: ClientBase, options: IntrospectOptions): Promise<CatalogSnapshot> {
  const settings = (await client.query<SettingsRow>(settingsSql, [options.schemas, options.appRole])).rows[0]!
  const [missing] = settings.missing_schemas
  if (missing !== undefined) {
    throw new RowfenceError('ROWFENCE_CHECK_TARGET_NOT_FOUND', {
      message: `Schema "${missing}" does not exist`,
      details: { schema: missing },
    })
  }
  if (settings.app_oid === null) {
    throw new RowfenceError('ROWFENCE_CHECK_TARGET_NOT_FOUND', {
      message: `Role "${options.appRole}" does not exist; pass the role your app connects as`,
      details: { appRole: options.appRole },
    })
  }
  const schemaOid = settings.schema_oids.map(Number)
  const overrides = JSON.stringify(options.tenantColumns ?? {})
  const appOid = settings.app_oid

  const relationRows = (
    await client.query<RelationRow>(relationsSql, [
      schemaOid,
      appOid,
      options.tenantColumn,
      overrides,
      TENANT_LIKE_COLUMN,
    ])
  ).rows
  const shared = new Set(options.sharedTables)
  const relations: Relation[] = relationRows.map((row) => ({
    oid: row.oid,
    schema: row.schema,
    name: row.name,
    displayName: `${row.schema}.${row.name}`,
    kind: relationKinds[row.kind] ?? 'table',
    isPartition: row.is_partition,
    owner: row.owner,
    ownerCanLogin: row.owner_can_login,
    ownerBypassesRls: row.owner_bypasses_rls,
    ownerRunsCode: row.owner_runs_code,
    appIsOwner: row.app_is_owner,
    checkerIsOwner: row.checker_is_owner,
    rlsEnabled: row.rls_enabled,
    rlsForced: row.rls_forced,
    tenantColumn:
      row.tenant_attnum === null
        ? null
        : { name: row.tenant_name ?? '', attnum: row.tenant_attnum, type: row.tenant_type ?? 'unknown' },
    tenantLikeColumns: row.tenant_like,
    shared:
      row.comment.includes(SHARED_MARKER) || shared.has(row.name) || shared.has(`${row.schema}.${row.name}`),
    securityInvoker: isSecurityInvoker(row.options),
    app: {
      select: row.app_select,
      insert: row.app_insert,
      update: row.app_update,
      delete: row.app_delete,
      truncate: row.app_truncate,
      references: row.app_references,
      trigger: row.app_trigger,
      updateTenantColumn: row.app_update_tenant,
    },
    checkerCanSelect: row.checker_select,
  }))
  const byOid = new Map(relations.map((relation) => [relation.oid, relation]))

  const policyRows = (await client.query<PolicyRow>(policiesSql, [schemaOid, appOid])).rows
  const policies: Policy[] = []
  for (const row of policyRows) {
    const table = byOid.get(row.table_oid)
    if (!table) continue
    policies.push({
      table,
      name: row.name,
      commands: policyCommands[row.cmd] ?? [],
      permissive: row.permissive,
      roles: row.roles,
      appliesToApp: row.applies_to_app,
      appliesToChecker: row.applies_to_checker,
      using: expression(row.using_sql, row.using_tree),
      withCheck: expression(row.check_sql, row.check_tree),
    })
  }

  // Functions and operators the policies call, found in the parsed trees.
  const functionOids = new Set<number>()
  const operatorOids = new Set<number>()
  for (const policy of policies) {
    for (const tree of [policy.using?.tree, policy.withCheck?.tree]) {
      for (const { node } of walkNodes(tree ?? undefined)) {
        const funcid = node.type === 'FUNCEXPR' ? fieldNumber(node, 'funcid') : undefined
        if (funcid !== undefined) functionOids.add(funcid)
        const opno = fieldNumber(node, 'opno')
        if (opno !== undefined) operatorOids.add(opno)
      }
    }
  }

  // One client runs one query at a time; these are sequential on purpose.
  const indexRows = await client.query(indexesSql, [schemaOid])
  const foreignKeyRows = await client.query(foreignKeysSql, [schemaOid, options.tenantColumn, overrides])
  const sequenceRows = await client.query(sequenceDefaultsSql, [schemaOid])
  const viewRows = await client.query(viewDependenciesSql, [options.tenantColumn, overrides])
  const functionRows = await client.query(functionsSql(settings.version_num), [[...functionOids], appOid])
  const operatorRows = await client.query(operatorsSql, [[...operatorOids]])

  const indexes: IndexInfo[] = indexRows.rows.map((row) => {
    const keyCount = Number(row.key_count)
    return {
      table: Number(row.table_oid),
      name: String(row.name),
      unique: Boolean(row.is_unique),
      primary: Boolean(row.is_primary),
      partial: Boolean(row.partial),
      valid: Boolean(row.valid),
      keyAttnums: (row.attnums as number[]).slice(0, keyCount),
      keyColumns: (row.columns as (string | null)[]).slice(0, keyCount),
      keyDefaults: (row.defaults as (string | null)[]).slice(0, keyCount),
      constraint: (row.constraint_name as string | null) ?? null,
      definition: String(row.definition),
    }
  })

  const foreignKeys: ForeignKey[] = foreignKeyRows.rows.map((row) => ({
    name: String(row.name),
    table: Number(row.table_oid),
    columns: row.columns as string[],
    attnums: row.attnums as number[],
    parentSchema: String(row.parent_schema),
    parentName: String(row.parent_name),
    parentDisplayName: `${String(row.parent_schema)}.${String(row.parent_name)}`,
    parentColumns: row.parent_columns as string[],
    parentAttnums: row.parent_attnums as number[],
    parentTenantAttnum: (row.parent_tenant_attnum as number | null) ?? null,
    parentShared:
      String(row.parent_comment).includes(SHARED_MARKER) ||
      shared.has(String(row.parent_name)) ||
      shared.has(`${String(row.parent_schema)}.${String(row.parent_name)}`),
  }))

  const sequenceDefaults: SequenceDefault[] = sequenceRows.rows.map((row) => ({
    table: Number(row.table_oid),
    column: String(row.column_name),
    columnType: String(row.column_type),
    sequence: String(row.sequence),
    identity: Boolean(row.identity),
  }))

  const viewDependencies: ViewDependency[] = viewRows.rows.map((row) => ({
    view: Number(row.view_oid),
    viewDisplayName: `${String(row.view_schema)}.${String(row.view_name)}`,
    referenced: Number(row.ref_oid),
    referencedDisplayName: `${String(row.ref_schema)}.${String(row.ref_name)}`,
    referencedIsTenantTable: Boolean(row.ref_is_tenant),
  }))

  const volatility = { i: 'immutable', s: 'stable', v: 'volatile' } as const
  const functions = new Map<number, FunctionInfo>(
    functionRows.rows.map((row) => {
      const info: FunctionInfo = {
        oid: Number(row.oid),
        schema: String(row.schema),
        name: String(row.name),
        identityArguments: String(row.identity_args),
        signature: `${qualifiedName(String(row.schema), String(row.name))}(${String(row.identity_args)})`,
        volatility: volatility[row.volatility as 'i' | 's' | 'v'] ?? 'volatile',
        leakproof: Boolean(row.leakproof),
        strict: Boolean(row.strict),
        securityDefiner: Boolean(row.security_definer),
        config: (row.config as string[]) ?? [],
        returnType: String(row.return_type),
        language: String(row.language),
        source: String(row.source),
        owner: String(row.owner),
        ownerBypassesRls: Boolean(row.owner_bypasses_rls),
        appCanExecute: Boolean(row.app_can_execute),
        dependsOn: (row.depends_on as number[]) ?? [],
        bodyTables: ((row.body_tables as Array<{ name: string; appCanRead: boolean }> | null) ?? []).map(
          (table) => ({ name: String(table.name), appCanRead: Boolean(table.appCanRead) }),
        ),
        isSystem: Boolean(row.is_system),
      }
      return [info.oid, info]
    }),
  )

  const operators = new Map<number, OperatorInfo>(
    operatorRows.rows.map((row) => [
      Number(row.oid),
      {
        oid: Number(row.oid),
        name: String(row.name),
        functionName: String(row.function_name),
        leakproof: Boolean(row.leakproof),
        strict: Boolean(row.strict),
      },
    ]),
  )

  return {
    serverVersionNum: settings.version_num,
    serverVersion: settings.version,
    database: settings.database,
    schemas: options.schemas,
    tenantColumn: options.tenantColumn,
    appCreateSchemas: settings.app_create_schemas,
    checker: {
      name: settings.checker,
      superuser: settings.checker_superuser,
      bypassRls: settings.checker_bypassrls,
    },
    app: {
      name: options.appRole,
      exists: true,
      superuser: Boolean(settings.app_superuser),
      bypassRls: Boolean(settings.app_bypassrls),
      privilegedMemberships: settings.privileged_memberships.map((role) => ({
        name: role.name,
        why: role.superuser ? 'SUPERUSER' : 'BYPASSRLS',
      })),
    },
    relations,
    policies,
    functions,
    operators,
    indexes,
    foreignKeys,
    sequenceDefaults,
    viewDependencies,
    canBecomeApp: settings.can_become_app,
    citus: await introspectCitus(
      client,
      relations.map((relation) => relation.oid),
    ),
  }
}
