import { RowfenceError } from '../errors.ts'
import { quoteLiteral } from '../sql/literal.ts'
import { qualifiedName, quoteIdentifier as q } from '../sql/identifier.ts'
import {
  CONTEXT_FUNCTIONS,
  CONTEXT_SCHEMA,
  type CheckModel,
  type ColumnModel,
  type ColumnType,
  type ContextModel,
  type DefaultModel,
  type ForeignKeyModel,
  type PolicyModel,
  type PolicyRole,
  type Predicate,
  type SchemaFlavour,
  type TableModel,
} from './model.ts'
import type { Operation } from './operations.ts'
import { dropSignUpSql, signUpSql } from './sign-up.ts'

/**
 * The one DDL compiler: operations (data) in, SQL text out. Every identifier goes through
 * `quoteIdentifier`, every literal through `quoteLiteral` or a validated number; nothing else is
 * interpolated. The output is deterministic, so a generated migration can be reviewed and diffed.
 */

const types: Record<ColumnType, string> = {
  uuid: 'uuid',
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  boolean: 'boolean',
  timestamptz: 'timestamptz',
  date: 'date',
  jsonb: 'jsonb',
  numeric: 'numeric',
  'double precision': 'double precision',
  bytea: 'bytea',
}

const numberText = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

const corrupt = (what: string): RowfenceError =>
  new RowfenceError('ROWFENCE_SCHEMA_SNAPSHOT_INVALID', { message: `Cannot render ${what}` })

function sqlType(type: ColumnType): string {
  const sql = types[type]
  if (!sql) throw corrupt(`the column type ${JSON.stringify(type)}`)
  return sql
}

function sqlIdType(type: unknown): string {
  if (type !== 'uuid' && type !== 'text' && type !== 'bigint')
    throw corrupt(`the id type ${JSON.stringify(type)}`)
  return type
}

function sqlNumber(value: string): string {
  if (!numberText.test(value)) throw corrupt(`the number ${JSON.stringify(value)}`)
  return value
}

function defaultSql(value: DefaultModel): string {
  switch (value.kind) {
    case 'string':
      return quoteLiteral(value.value)
    case 'number':
      return sqlNumber(value.value)
    case 'boolean':
      return value.value ? 'true' : 'false'
    case 'function':
      if (value.name === 'gen_random_uuid') return 'gen_random_uuid()'
      if (value.name === 'now') return 'now()'
      if (value.name === 'current_date') return 'CURRENT_DATE'
      break
    case 'context':
      if (value.context === 'tenant') return `${qualifiedName(CONTEXT_SCHEMA, CONTEXT_FUNCTIONS.tenant)}()`
  }
  throw corrupt(`the default ${JSON.stringify(value)}`)
}

const columnList = (columns: readonly string[]): string => `(${columns.map(q).join(', ')})`

function columnSql(column: ColumnModel): string {
  let sql = `${q(column.name)} ${sqlType(column.type)}`
  if (column.notNull) sql += ' NOT NULL'
  if (column.default) sql += ` DEFAULT ${defaultSql(column.default)}`
  return sql
}

function checkSql(check: CheckModel): string {
  const target = check.fn === 'length' ? `length(${q(check.column)})` : q(check.column)
  const min = check.min === null ? null : sqlNumber(check.min)
  const max = check.max === null ? null : sqlNumber(check.max)
  let expression: string
  if (min !== null && max !== null) expression = `${target} BETWEEN ${min} AND ${max}`
  else if (min !== null) expression = `${target} >= ${min}`
  else if (max !== null) expression = `${target} <= ${max}`
  else throw corrupt(`the check ${JSON.stringify(check.name)}`)
  return `CONSTRAINT ${q(check.name)} CHECK (${expression})`
}

function foreignKeySql(foreignKey: ForeignKeyModel): string {
  let sql =
    `CONSTRAINT ${q(foreignKey.name)} FOREIGN KEY ${columnList(foreignKey.columns)} ` +
    `REFERENCES ${q(foreignKey.references.table)} ${columnList(foreignKey.references.columns)}`
  if (foreignKey.onDelete === 'cascade') sql += ' ON DELETE CASCADE'
  else if (foreignKey.onDelete === 'restrict') sql += ' ON DELETE RESTRICT'
  else if (foreignKey.onDelete === 'set null')
    sql += ` ON DELETE SET NULL ${columnList(foreignKey.setNullColumns)}`
  return sql
}

function contextCall(which: 'tenant' | 'user', flavour: SchemaFlavour): string {
  const call = `${qualifiedName(CONTEXT_SCHEMA, CONTEXT_FUNCTIONS[which])}()`
  // A sub-select makes PostgreSQL evaluate the function once per query (an InitPlan), not per row.
  // Citus cannot push sub-selects in policies down to the shards, so it gets the plain call.
  return flavour === 'citus' ? call : `(SELECT ${call})`
}

function predicateSql(predicate: Predicate, flavour: SchemaFlavour, nested = false): string {
  if (predicate.kind === 'context')
    return `${q(predicate.column)} = ${contextCall(predicate.context, flavour)}`
  if (predicate.kind === 'and' && predicate.all.length > 0) {
    const sql = predicate.all.map((part) => predicateSql(part, flavour, true)).join(' AND ')
    return nested ? `(${sql})` : sql
  }
  throw corrupt(`the predicate ${JSON.stringify(predicate)}`)
}

function roleSql(role: PolicyRole): string {
  if (role === 'public') return 'PUBLIC'
  if (role === 'current_user') return 'CURRENT_USER'
  if (typeof role === 'object' && role !== null && typeof role.name === 'string') return q(role.name)
  throw corrupt(`the policy role ${JSON.stringify(role)}`)
}

const commands = { all: 'ALL', select: 'SELECT', insert: 'INSERT', update: 'UPDATE', delete: 'DELETE' }

function policySql(table: string, policy: PolicyModel, flavour: SchemaFlavour): string {
  const command = commands[policy.command]
  if (!command) throw corrupt(`the policy command ${JSON.stringify(policy.command)}`)
  const lines = [
    `CREATE POLICY ${q(policy.name)} ON ${q(table)} AS ${policy.mode === 'restrictive' ? 'RESTRICTIVE' : 'PERMISSIVE'} ` +
      `FOR ${command} TO ${policy.roles.map(roleSql).join(', ')}`,
  ]
  if (policy.using) lines.push(`  USING (${predicateSql(policy.using, flavour)})`)
  if (policy.withCheck) lines.push(`  WITH CHECK (${predicateSql(policy.withCheck, flavour)})`)
  return lines.join('\n') + ';'
}

function createTableSql(table: TableModel): string {
  const items = [
    ...table.columns.map(columnSql),
    `CONSTRAINT ${q(table.primaryKey.name)} PRIMARY KEY ${columnList(table.primaryKey.columns)}`,
    ...table.uniques.map((key) => `CONSTRAINT ${q(key.name)} UNIQUE ${columnList(key.columns)}`),
    ...table.checks.map(checkSql),
  ]
  return `CREATE TABLE ${q(table.name)} (\n${items.map((item) => `  ${item}`).join(',\n')}\n);`
}

function contextSql(appRole: string, context: ContextModel): string {
  const schema = q(CONTEXT_SCHEMA)
  const functions = (['tenant', 'user'] as const).map((which) =>
    qualifiedName(CONTEXT_SCHEMA, CONTEXT_FUNCTIONS[which]),
  )
  const types = [sqlIdType(context.tenantIdType), sqlIdType(context.userIdType)] as const
  const checked = (sql: string): string => {
    if (sql.includes('$$')) throw corrupt('a context function')
    return sql
  }
  // Plain: the settings themselves. Signed: the fields of the verified value (NULL unless it verifies).
  const bodies = context.signed
    ? (['t', 'u'] as const).map(
        (field, i) =>
          `SELECT NULLIF(${qualifiedName(CONTEXT_SCHEMA, 'verified_context')}() ->> '${field}', '')::${types[i]}`,
      )
    : [context.tenantSetting, context.userSetting].map(
        (setting, i) => `SELECT NULLIF(current_setting(${quoteLiteral(setting)}, true), '')::${types[i]}`,
      )
  const granted = [
    ...functions.map((name) => `${name}()`),
    ...(context.signed
      ? [
          `${qualifiedName(CONTEXT_SCHEMA, 'current_claim')}(text)`,
          `${qualifiedName(CONTEXT_SCHEMA, 'verified_context')}()`,
        ]
      : []),
  ]
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${q(appRole)};`,
    ...(context.signed ? [signedContextSql(context)] : []),
    ...functions.map(
      (name, i) =>
        `CREATE OR REPLACE FUNCTION ${name}() RETURNS ${types[i]}\n` +
        `  LANGUAGE sql STABLE PARALLEL SAFE\n` +
        `  AS $$ ${checked(bodies[i]!)} $$;`,
    ),
    ...(context.signed
      ? [
          `CREATE OR REPLACE FUNCTION ${qualifiedName(CONTEXT_SCHEMA, 'current_claim')}(name text) RETURNS text\n` +
            `  LANGUAGE sql STABLE PARALLEL SAFE\n` +
            `  AS $$ SELECT ${qualifiedName(CONTEXT_SCHEMA, 'verified_context')}() -> 'c' ->> name $$;`,
        ]
      : []),
    `REVOKE ALL ON FUNCTION ${granted.join(', ')} FROM PUBLIC;`,
    `GRANT EXECUTE ON FUNCTION ${granted.join(', ')} TO ${q(appRole)};`,
  ].join('\n')
}

/** The signed context's key table; also what addContextKey() creates on Citus workers. */
export function contextKeyTableSql(): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(CONTEXT_SCHEMA, 'context_keys')} (`,
    `  "id" text PRIMARY KEY CHECK ("id" ~ '^[A-Za-z0-9_-]{1,32}$'),`,
    '  "ipad" bytea NOT NULL CHECK (length("ipad") = 64),',
    '  "opad" bytea NOT NULL CHECK (length("opad") = 64),',
    '  "created_at" timestamptz NOT NULL DEFAULT now(),',
    '  "not_after" timestamptz',
    ')',
  ].join('\n')
}

/** The key table is readable by its owner only. */
export function contextKeyRevokeSql(): string {
  return `REVOKE ALL ON TABLE ${qualifiedName(CONTEXT_SCHEMA, 'context_keys')} FROM PUBLIC`
}

/**
 * The key table (owner only: the app role has no privilege on it) and the SECURITY DEFINER function
 * that verifies the signed value: HMAC-SHA256 from built-ins (`sha256(opad || sha256(ipad || m))`, the
 * pads stored per key), the key not retired, the expiry not passed. Anything else is NULL.
 *
 * Citus: the policies of a distributed table run on the workers, inside the shard queries, and call the
 * context functions there (Citus propagates them). The key table is then a plain table on every node: here
 * on the coordinator; addContextKey() creates it on the workers (contextKeyTableSql) and writes every
 * node. A reference table cannot do: reading it inside a shard query is "a distributed query from a
 * query on a shard" (measured), and the migration's transaction cannot create it on the workers either
 * (run_command_on_workers() runs on connections of its own, which do not see the uncommitted schema).
 */
function signedContextSql(context: ContextModel): string {
  const keys = qualifiedName(CONTEXT_SCHEMA, 'context_keys')
  const body = [
    'DECLARE',
    `  value text := current_setting(${quoteLiteral(context.contextSetting)}, true);`,
    '  parts text[];',
    '  pads record;',
    '  payload jsonb;',
    'BEGIN',
    '  IF value IS NULL OR length(value) > 8192 THEN',
    '    RETURN NULL;',
    '  END IF;',
    "  parts := string_to_array(value, '.');",
    "  IF array_length(parts, 1) <> 4 OR parts[1] <> 'v1' OR length(parts[4]) <> 64 OR length(parts[3]) % 2 <> 0",
    "     OR parts[3] !~ '^[0-9a-f]+$' OR parts[4] !~ '^[0-9a-f]+$' THEN",
    '    RETURN NULL;',
    '  END IF;',
    `  SELECT k.ipad, k.opad INTO pads FROM ${keys} k`,
    '   WHERE k.id = parts[2] AND (k.not_after IS NULL OR k.not_after > statement_timestamp());',
    '  IF NOT FOUND THEN',
    '    RETURN NULL;',
    '  END IF;',
    "  IF sha256(pads.opad || sha256(pads.ipad || convert_to(parts[1] || '.' || parts[2] || '.' || parts[3], 'UTF8')))",
    "     IS DISTINCT FROM decode(parts[4], 'hex') THEN",
    '    RETURN NULL;',
    '  END IF;',
    "  payload := convert_from(decode(parts[3], 'hex'), 'UTF8')::jsonb;",
    "  IF jsonb_typeof(payload -> 'exp') IS DISTINCT FROM 'number'",
    "     OR (payload ->> 'exp')::numeric <= extract(epoch FROM statement_timestamp()) THEN",
    '    RETURN NULL;',
    '  END IF;',
    '  RETURN payload;',
    'END',
  ].join('\n')
  if (body.includes('$rowfence$')) throw corrupt('the context verification function')
  return [
    `${contextKeyTableSql()};`,
    `${contextKeyRevokeSql()};`,
    `CREATE OR REPLACE FUNCTION ${qualifiedName(CONTEXT_SCHEMA, 'verified_context')}() RETURNS jsonb`,
    '  LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER',
    '  SET search_path = pg_catalog, pg_temp',
    `  AS $rowfence$\n${body}\n$rowfence$;`,
  ].join('\n')
}

function operationSql(operation: Operation): string {
  switch (operation.kind) {
    case 'comment':
      return `-- ${operation.text.replace(/[\r\n]+/g, ' ')}`
    case 'createContext':
      return contextSql(operation.appRole, operation.context)
    case 'createSignUp':
      return signUpSql(operation.signUp, operation.context, operation.appRole)
    case 'dropSignUp':
      return dropSignUpSql(operation.signUp)
    case 'citusSequential':
      return `SET LOCAL citus.multi_shard_modify_mode TO 'sequential';`
    case 'createTable':
      return createTableSql(operation.table)
    case 'dropTable':
      return `DROP TABLE ${q(operation.table)};`
    case 'distributeTable':
      return operation.distribution.kind === 'reference'
        ? `SELECT create_reference_table(${quoteLiteral(q(operation.table))});`
        : `SELECT create_distributed_table(${quoteLiteral(q(operation.table))}, ${quoteLiteral(operation.distribution.column)});`
    case 'addColumn':
      return `ALTER TABLE ${q(operation.table)} ADD COLUMN ${columnSql(operation.column)};`
    case 'dropColumn':
      return `ALTER TABLE ${q(operation.table)} DROP COLUMN ${q(operation.column)};`
    case 'alterColumnType': {
      const type = sqlType(operation.type)
      return `ALTER TABLE ${q(operation.table)} ALTER COLUMN ${q(operation.column)} TYPE ${type} USING ${q(operation.column)}::${type};`
    }
    case 'setNotNull':
      return `ALTER TABLE ${q(operation.table)} ALTER COLUMN ${q(operation.column)} SET NOT NULL;`
    case 'dropNotNull':
      return `ALTER TABLE ${q(operation.table)} ALTER COLUMN ${q(operation.column)} DROP NOT NULL;`
    case 'setDefault':
      return `ALTER TABLE ${q(operation.table)} ALTER COLUMN ${q(operation.column)} SET DEFAULT ${defaultSql(operation.default)};`
    case 'dropDefault':
      return `ALTER TABLE ${q(operation.table)} ALTER COLUMN ${q(operation.column)} DROP DEFAULT;`
    case 'addUnique':
      return `ALTER TABLE ${q(operation.table)} ADD CONSTRAINT ${q(operation.key.name)} UNIQUE ${columnList(operation.key.columns)};`
    case 'addCheck':
      return `ALTER TABLE ${q(operation.table)} ADD ${checkSql(operation.check)};`
    case 'addForeignKey':
      return `ALTER TABLE ${q(operation.table)} ADD ${foreignKeySql(operation.foreignKey)};`
    case 'dropConstraint':
      return `ALTER TABLE ${q(operation.table)} DROP CONSTRAINT ${q(operation.name)};`
    case 'createIndex':
      return `CREATE INDEX ${q(operation.index.name)} ON ${q(operation.table)} ${columnList(operation.index.columns)};`
    case 'dropIndex':
      return `DROP INDEX ${q(operation.name)};`
    case 'enableRls':
      return [
        `ALTER TABLE ${q(operation.table)} ENABLE ROW LEVEL SECURITY;`,
        `ALTER TABLE ${q(operation.table)} FORCE ROW LEVEL SECURITY;`,
      ].join('\n')
    case 'createPolicy':
      return policySql(operation.table, operation.policy, operation.flavour)
    case 'dropPolicy':
      return `DROP POLICY ${q(operation.name)} ON ${q(operation.table)};`
    case 'revokeAllFromPublic':
      return `REVOKE ALL ON TABLE ${q(operation.table)} FROM PUBLIC;`
    case 'grant':
    case 'revoke': {
      const privileges = operation.privileges.map((privilege) => {
        if (!['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(privilege)) {
          throw corrupt(`the privilege ${JSON.stringify(privilege)}`)
        }
        return privilege
      })
      return operation.kind === 'grant'
        ? `GRANT ${privileges.join(', ')} ON TABLE ${q(operation.table)} TO ${q(operation.role)};`
        : `REVOKE ${privileges.join(', ')} ON TABLE ${q(operation.table)} FROM ${q(operation.role)};`
    }
  }
}

/** Renders operations as one SQL script: statements in order, a blank line before each comment. */
export function compileOperations(operations: readonly Operation[]): string {
  const parts: string[] = []
  for (const operation of operations) {
    if (operation.kind === 'comment' && parts.length > 0) parts.push('')
    parts.push(operationSql(operation))
  }
  return parts.length === 0 ? '' : parts.join('\n') + '\n'
}
