import { quoteLiteral } from '../sql/literal.ts'
import { qualifiedName, quoteIdentifier as q } from '../sql/identifier.ts'
import { CONTEXT_SCHEMA, type ColumnType, type IdType } from './model.ts'

/**
 * Tenant sign-up: a SECURITY DEFINER function the app role may execute that creates one new tenant and
 * (optionally) its first member, and nothing else.
 *
 * Why it is safe, by construction: its first statement inserts the tenants row with the new id (a fresh
 * uuid, or a caller-chosen text/bigint id, which the primary key refuses if that tenant exists: the
 * whole call fails), and every later insert carries that same id. It reads no table and updates or
 * deletes nothing; it returns only the ids it created; it sets the tenant context to the new tenant for
 * its own inserts (the policies apply to the owner too: FORCE RLS) and restores the caller's context
 * before returning. Its search_path is pinned (pg_catalog, the tables' schema, pg_temp last).
 *
 * `rowfence check` recognises it by rendering the body again from what it parses out of it: only a
 * function that this module would have written byte for byte passes; any edit is reviewed like any
 * other definer function.
 */

export const SIGN_UP_FUNCTION = 'sign_up'
export const NEW_TENANT = 'new_tenant_id'
export const NEW_MEMBER = 'new_member_id'

export interface SignUpModel {
  /** The tenants table and the columns the caller provides (besides the id). */
  readonly tenants: { readonly table: string; readonly columns: readonly SignUpColumn[] }
  /** How the new tenant id is made: a fresh uuid, or given by the caller (text and bigint ids). */
  readonly tenantId: { readonly type: IdType; readonly source: 'random' | 'caller' }
  /** The first member (e.g. the admin user), or null. Its id comes back from its default. */
  readonly member: {
    readonly table: string
    readonly columns: readonly SignUpColumn[]
    readonly id: { readonly column: string; readonly type: ColumnType }
  } | null
}

export interface SignUpColumn {
  readonly name: string
  readonly type: ColumnType
}

/** The function's parameters, in order: `p_<column>` for the tenant, `p_member_<column>` for the member. */
export function signUpParameters(model: SignUpModel): Array<{ name: string; type: string }> {
  return [
    ...(model.tenantId.source === 'caller' ? [{ name: 'p_id', type: model.tenantId.type }] : []),
    ...model.tenants.columns.map((column) => ({ name: `p_${column.name}`, type: column.type })),
    ...(model.member?.columns ?? []).map((column) => ({
      name: `p_member_${column.name}`,
      type: column.type,
    })),
  ]
}

/**
 * Where the sign-up puts the new tenant's context for its own inserts: the plain tenant setting, or
 * (signed context) the setting carrying the signed value.
 */
export type SignUpContext =
  | { readonly signed: false; readonly tenantSetting: string }
  | { readonly signed: true; readonly contextSetting: string }

/** The key table the signed sign-up signs with (the same table the verifier reads). */
const CONTEXT_KEYS = qualifiedName(CONTEXT_SCHEMA, 'context_keys')

/**
 * The plpgsql body (what pg_proc.prosrc holds), deterministic.
 *
 * Signed context: the function runs as the owner, who can read the key table the app role cannot, and
 * signs a context for the new tenant itself (the newest active key, 60 seconds, no user), exactly as the
 * app does (`v1.<key id>.<payload hex>.<hmac hex>`), so the inserts pass the policies' WITH CHECK. Like
 * the plain form, it restores the caller's value before returning; the value only ever names the tenant
 * this call created.
 */
export function signUpBody(model: SignUpModel, context: SignUpContext): string {
  const setting = quoteLiteral(context.signed ? context.contextSetting : context.tenantSetting)
  const insert = (table: string, tenantColumn: string, columns: readonly SignUpColumn[], prefix: string) =>
    `INSERT INTO ${q(table)} (${[tenantColumn, ...columns.map((c) => c.name)].map(q).join(', ')}) ` +
    `VALUES (${[NEW_TENANT, ...columns.map((c) => q(`${prefix}${c.name}`))].join(', ')})`
  const lines = [
    'DECLARE',
    `  previous text := current_setting(${setting}, true);`,
    ...(context.signed ? ['  signing_key record;', '  signed_body text;'] : []),
    'BEGIN',
    `  ${NEW_TENANT} := ${model.tenantId.source === 'random' ? 'gen_random_uuid()' : q('p_id')};`,
  ]
  if (context.signed) {
    lines.push(
      `  SELECT k.id, k.ipad, k.opad INTO signing_key FROM ${CONTEXT_KEYS} k`,
      '   WHERE k.not_after IS NULL OR k.not_after > statement_timestamp() ORDER BY k.created_at DESC, k.id LIMIT 1;',
      '  IF NOT FOUND THEN',
      "    RAISE EXCEPTION 'rowfence: no active context key to sign the new tenant''s context (rowfence keys --add)' USING ERRCODE = '55000';",
      '  END IF;',
      `  signed_body := 'v1.' || signing_key.id || '.' || encode(convert_to(json_build_object('t', ${NEW_TENANT}::text, 'u', '', 'c', json_build_object(), 'exp', floor(extract(epoch FROM statement_timestamp()))::bigint + 60)::text, 'UTF8'), 'hex');`,
      `  PERFORM set_config(${setting}, signed_body || '.' || encode(sha256(signing_key.opad || sha256(signing_key.ipad || convert_to(signed_body, 'UTF8'))), 'hex'), true);`,
    )
  } else {
    lines.push(`  PERFORM set_config(${setting}, ${NEW_TENANT}::text, true);`)
  }
  lines.push(`  ${insert(model.tenants.table, 'id', model.tenants.columns, 'p_')};`)
  if (model.member) {
    lines.push(
      `  ${insert(model.member.table, 'tenant_id', model.member.columns, 'p_member_')} ` +
        `RETURNING ${q(model.member.id.column)} INTO ${NEW_MEMBER};`,
    )
  }
  lines.push(`  PERFORM set_config(${setting}, COALESCE(previous, ''), true);`, 'END')
  return `\n${lines.join('\n')}\n`
}

/** `CREATE FUNCTION`, its pinned search_path, and EXECUTE for the app role only. */
export function signUpSql(model: SignUpModel, context: SignUpContext, appRole: string): string {
  const name = qualifiedName(CONTEXT_SCHEMA, SIGN_UP_FUNCTION)
  const parameters = signUpParameters(model)
  const signature = `${name}(${parameters.map((p) => p.type).join(', ')})`
  const outputs = [
    `OUT ${NEW_TENANT} ${model.tenantId.type}`,
    ...(model.member ? [`OUT ${NEW_MEMBER} ${model.member.id.type}`] : []),
  ]
  const body = signUpBody(model, context)
  if (body.includes('$rowfence$')) throw new Error('Cannot render the sign-up function')
  return [
    `CREATE FUNCTION ${name}(${[...parameters.map((p) => `${q(p.name)} ${p.type}`), ...outputs].join(', ')})`,
    '  LANGUAGE plpgsql VOLATILE SECURITY DEFINER',
    `  AS $rowfence$${body}$rowfence$;`,
    // The tables' schema is wherever this migration creates them: pin it now, pg_temp last.
    'DO $rowfence$ BEGIN',
    `  EXECUTE format('ALTER FUNCTION ${signature.replaceAll("'", "''")} SET search_path = pg_catalog, %I, pg_temp', current_schema());`,
    'END $rowfence$;',
    `REVOKE ALL ON FUNCTION ${signature} FROM PUBLIC;`,
    `GRANT EXECUTE ON FUNCTION ${signature} TO ${q(appRole)};`,
  ].join('\n')
}

/** `DROP FUNCTION` of a previous version (its parameter types may differ, so CREATE OR REPLACE cannot). */
export function dropSignUpSql(model: SignUpModel): string {
  const types = signUpParameters(model).map((p) => p.type)
  return `DROP FUNCTION IF EXISTS ${qualifiedName(CONTEXT_SCHEMA, SIGN_UP_FUNCTION)}(${types.join(', ')});`
}

const identifier = String.raw`"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*`
const unquote = (name: string): string =>
  name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name
const columnsOf = (list: string): string[] => list.match(new RegExp(identifier, 'g'))?.map(unquote) ?? []

/**
 * True when `source` is exactly the body `signUpBody()` renders for the tables and columns it names:
 * what `rowfence check` accepts as the generated sign-up function.
 */
export function isGeneratedSignUpBody(source: string): boolean {
  const setting = /current_setting\('((?:[^']|'')*)', true\)/.exec(source)?.[1]?.replaceAll("''", "'")
  const inserts = [
    ...source.matchAll(new RegExp(String.raw`INSERT INTO (${identifier}) \(([^)]*)\) VALUES`, 'g')),
  ].map((match) => ({ table: unquote(match[1]!), columns: columnsOf(match[2]!).slice(1) }))
  const returning = new RegExp(String.raw`RETURNING (${identifier}) INTO ${NEW_MEMBER}`).exec(source)?.[1]
  if (setting === undefined || inserts.length < 1 || inserts.length > 2) return false
  // Types do not appear in the body; any will do for re-rendering it.
  const columns = (names: readonly string[]) => names.map((name) => ({ name, type: 'text' as const }))
  const model: SignUpModel = {
    tenants: { table: inserts[0]!.table, columns: columns(inserts[0]!.columns) },
    tenantId: {
      type: 'uuid',
      source: source.includes(`${NEW_TENANT} := gen_random_uuid();`) ? 'random' : 'caller',
    },
    member:
      inserts.length === 2 && returning !== undefined
        ? {
            table: inserts[1]!.table,
            columns: columns(inserts[1]!.columns),
            id: { column: unquote(returning), type: 'uuid' },
          }
        : null,
  }
  const signed = source.includes(`FROM ${CONTEXT_KEYS} k`)
  return (
    signUpBody(model, signed ? { signed, contextSetting: setting } : { signed, tenantSetting: setting }) ===
    source
  )
}
