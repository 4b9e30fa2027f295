/**
 * Live probes: dynamic evidence on top of the static rules. As the app role, with two tenant contexts,
 * inside ONE transaction that always ends in ROLLBACK (each attempt in its own savepoint), every tenant
 * table is attacked the way a compromised tenant would: read, insert, update, delete, plant a row in,
 * re-parent a row under, and probe the unique keys of another tenant, attach a trigger, truncate. Each
 * attempt is reported as blocked or LEAKED with the statement that did it.
 *
 * Nothing is committed: the probe refuses to start when it cannot guarantee that (already inside a
 * transaction, a trigger that can commit elsewhere through dblink and the like, or a connection that
 * does not keep one backend for the transaction). Sequences advance (PostgreSQL never rolls them back).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { ClientBase, Pool } from 'pg'
import { TENANT_SETTING } from '../../context/tenant-context.ts'
import { fromDatabaseError, RowfenceError } from '../../errors.ts'
import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import { quoteLiteral } from '../../sql/literal.ts'
import { signedContext, type SignedContextFacts } from '../analysis/context-trust.ts'
import { analyze, type PolicyAnalyzer } from '../analysis/policy-analysis.ts'
import { introspect } from '../catalog/introspect.ts'
import { tenantTables } from '../catalog/relations.ts'
import { introspectOptions, type CheckOptions } from '../check-database.ts'
import { contextForgeable, signedContextFix } from '../rules/context-forgeable.ts'
import { surrogateKind } from '../rules/unique-without-tenant.ts'
import type { CatalogSnapshot, Relation } from '../types.ts'

export type ProbeKind =
  | 'read-without-context'
  | 'read'
  | 'insert'
  | 'update'
  | 'delete'
  | 'plant'
  | 're-parent'
  | 'unique-probe'
  | 'trigger'
  | 'truncate'
  | 'forge-set-config'
  | 'forge-write'
  | 'forge-reset'
  | 'forge-set-role'
  | 'forge-guessed-key'
  | 'forge-unknown-key'
  | 'forge-expired'
  | 'forge-spliced'

/**
 * `forged`: a forge probe switched tenant through a plain context setting, as the rule
 * `context-forgeable` says it can (an advisory finding, not a leak: isolation then rests on the app
 * having no SQL injection). A forgery that gets through a signed context is `leaked`.
 */
export type ProbeOutcome = 'blocked' | 'leaked' | 'skipped' | 'forged'

export interface ProbeResult {
  /** `schema.table`. */
  readonly table: string
  readonly probe: ProbeKind
  readonly outcome: ProbeOutcome
  /** The statement that was run as the app role (parameters shown inline), or would have been. */
  readonly statement: string
  /** What happened: rows seen or changed, the SQLSTATE that stopped it, or why it was skipped. */
  readonly detail: string
  /** `forged` results: the rule they confirm (`context-forgeable`) and its fix. */
  readonly ruleId?: string | undefined
  readonly fix?: string | undefined
}

export interface ProbeContext {
  /** Settings that receive the tenant id: `set_config(name, tenant, true)` each. */
  readonly settings?: readonly string[] | undefined
  /** Or one SQL statement that sets the app's context, with `$1` = the tenant id (as text). */
  readonly sql?: string | undefined
}

export interface ProbeOptions extends Pick<
  CheckOptions,
  'schema' | 'schemas' | 'tenantColumn' | 'tenantColumns' | 'appRole' | 'sharedTables'
> {
  /** How the app sets its tenant context; inferred from the policies when omitted. */
  readonly context?: ProbeContext | undefined
  /** The two tenants (attacker, victim); by default the two with the most rows. */
  readonly tenants?: readonly [string, string] | undefined
  /** Only these tables (`name` or `schema.name`). */
  readonly tables?: readonly string[] | undefined
}

export interface ProbeReport {
  readonly database: string
  readonly appRole: string
  /** [attacker, victim]. */
  readonly tenants: readonly [string, string]
  /** How the context was set, for people. */
  readonly context: string
  readonly results: readonly ProbeResult[]
  readonly leaked: readonly ProbeResult[]
  /** Forge probes that switched tenant through a plain setting (see `ProbeOutcome`); they do not fail a run. */
  readonly forged: readonly ProbeResult[]
  readonly durationMs: number
}

const refused = (message: string): RowfenceError => new RowfenceError('ROWFENCE_PROBE_REFUSED', { message })

function isPool(db: Pool | ClientBase): db is Pool {
  return typeof (db as Pool).totalCount === 'number' && typeof (db as Pool).connect === 'function'
}

/** The SQL that sets the context to `$1`, and a description; inferred from the policies when not given. */
export function probeContextSql(
  analysis: PolicyAnalyzer,
  context: ProbeContext | undefined,
): { sql: string[]; description: string } {
  if (context?.sql) return { sql: [context.sql], description: context.sql }
  const settings = context?.settings ? { names: context.settings } : inferSettings(analysis)
  if ('claim' in settings && settings.claim) {
    const sql = `SELECT set_config(${quoteLiteral(settings.claim.setting)}, json_build_object(${quoteLiteral(settings.claim.key)}, $1::text)::text, true)`
    return { sql: [sql], description: sql }
  }
  const names = settings.names
  if (names.length === 0) {
    throw refused(
      'cannot tell how the app sets its tenant context (no policy reads a setting compared with the tenant column): pass the settings or the SQL that sets it',
    )
  }
  return {
    sql: names.map((name) => `SELECT set_config(${quoteLiteral(name)}, $1::text, true)`),
    description: names.map((name) => `set_config(${quoteLiteral(name)}, <tenant>, true)`).join('; '),
  }
}

/** Plain tenant settings, or a JSON claim setting when the app's pin reads `->> 'claim'` from one. */
function inferSettings(analysis: PolicyAnalyzer): {
  readonly names: readonly string[]
  readonly claim?: { readonly setting: string; readonly key: string }
} {
  const names = analysis.tenantSettings().filter((name) => /^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)+$/.test(name))
  const jsonSetting = names.find((name) => /jwt|claims?$/i.test(name))
  if (jsonSetting) {
    const columns = new Set(tenantTables(analysis.snapshot).map((table) => table.tenantColumn!.name))
    for (const column of columns) {
      const key = /->>\s*'([^']+)'/.exec(analysis.tenantPin(column)?.predicate ?? '')?.[1]
      if (key) return { names, claim: { setting: jsonSetting, key } }
    }
  }
  return { names }
}

interface Sample {
  readonly victimRows: number
  readonly victim: Record<string, unknown> | null
  readonly attacker: Record<string, unknown> | null
}

/** Runs the probes. `db`: a pool or a connected client that is not inside a transaction. */
export async function probeDatabase(db: Pool | ClientBase, options: ProbeOptions = {}): Promise<ProbeReport> {
  const started = performance.now()
  const resolved = introspectOptions(options)
  let client: ClientBase
  let release = (_broken: boolean): void => undefined
  try {
    if (isPool(db)) {
      const pooled = await db.connect()
      client = pooled
      release = (broken) => pooled.release(broken)
    } else {
      client = db
    }
  } catch (error) {
    throw fromDatabaseError(error)
  }
  let broken = false
  try {
    const outside = await client.query<{ inside: boolean }>('SELECT now() <> statement_timestamp() AS inside')
    if (outside.rows[0]?.inside) throw refused('the connection is already inside a transaction')
    await client.query('BEGIN')
    let failure: unknown
    let report: ProbeReport | undefined
    try {
      report = await probeInTransaction(client, resolved, options, started)
    } catch (error) {
      failure = error
    }
    try {
      await client.query('ROLLBACK')
    } catch (error) {
      broken = true
      failure ??= error
    }
    if (failure !== undefined || !report) {
      throw failure instanceof RowfenceError ? failure : fromDatabaseError(failure)
    }
    return { ...report, durationMs: Math.round(performance.now() - started) }
  } finally {
    release(broken)
  }
}

async function probeInTransaction(
  client: ClientBase,
  resolved: ReturnType<typeof introspectOptions>,
  options: ProbeOptions,
  started: number,
): Promise<ProbeReport> {
  const identity = async (): Promise<string> =>
    (await client.query<{ id: string }>(`SELECT pg_backend_pid() || '/' || txid_current() AS id`)).rows[0]!.id
  const before = await identity()
  await client.query(`SET LOCAL lock_timeout = '2s'`)
  await client.query(`SET LOCAL statement_timeout = '30s'`)
  const snapshot = await introspect(client, resolved)
  if (!snapshot.canBecomeApp && snapshot.checker.name !== snapshot.app.name) {
    throw refused(
      `${snapshot.checker.name} cannot SET ROLE ${snapshot.app.name}: probes must run as the app role`,
    )
  }
  const analysis = analyze(snapshot)
  const signed = options.context ? null : signedContext(analysis)
  const context = signed ? await signedSetter(client, signed) : plainSetter(analysis, options.context)
  const wanted = new Set(options.tables ?? [])
  const tables = tenantTables(snapshot).filter(
    (table) => wanted.size === 0 || wanted.has(table.name) || wanted.has(table.displayName),
  )
  await refuseEscapingTriggers(client, tables)

  const [attacker, victim] = options.tenants ?? (await pickTenants(client, tables))
  // Per table: the chosen pair, or (when not told) the table's own two busiest tenants when the chosen
  // ones have no rows there, so that every table gets probed with real rows.
  const plans: Array<{
    table: Relation
    pair: [string, string]
    sample: Sample
    parents: Map<string, Record<string, unknown> | null>
  }> = []
  for (const table of tables) {
    let pair: [string, string] = [attacker, victim]
    let rows = await sample(client, table, attacker, victim)
    if (!options.tenants && (!rows.victim || !rows.attacker)) {
      const own = await busiestTenants(client, table)
      if (own.length === 2) {
        pair = [own[0]!, own[1]!]
        rows = await sample(client, table, pair[0], pair[1])
      }
    }
    const parents = new Map<string, Record<string, unknown> | null>()
    for (const key of snapshot.foreignKeys.filter((candidate) => candidate.table === table.oid)) {
      const parent = snapshot.relations.find(
        (relation) => relation.schema === key.parentSchema && relation.name === key.parentName,
      )
      if (!parent?.tenantColumn || parents.has(key.parentDisplayName)) continue
      parents.set(key.parentDisplayName, (await sample(client, parent, pair[0], pair[1])).victim)
    }
    plans.push({ table, pair, sample: rows, parents })
  }

  if (snapshot.checker.name !== snapshot.app.name) {
    await client.query(`SET LOCAL ROLE ${quoteIdentifier(snapshot.app.name)}`)
  }
  const results: ProbeResult[] = []
  for (const plan of plans) {
    results.push(
      ...(await probeTable(client, snapshot, plan.table, plan.sample, plan.parents, context, plan.pair)),
    )
  }
  if ((await identity()) !== before) {
    throw refused(
      'the connection changed backend or transaction during the probe (a pooler?): rollback is not guaranteed',
    )
  }
  return {
    database: snapshot.database,
    appRole: snapshot.app.name,
    tenants: [attacker, victim],
    context: context.description,
    results,
    leaked: results.filter((result) => result.outcome === 'leaked'),
    forged: results.filter((result) => result.outcome === 'forged'),
    durationMs: Math.round(performance.now() - started),
  }
}

/** How the probe sets a tenant's context, and what it forges. */
interface ContextSetter {
  /** Statements that set the context, `$1` bound to `value(tenant)`. */
  readonly sql: readonly string[]
  value(tenant: string): string
  readonly description: string
  /**
   * Statements that set the context to a tenant (`$1` = the tenant id) and can ride inside another
   * statement as a scalar sub-select: what an injection runs. On a signed context, the plain setting.
   */
  readonly forgeSql: readonly string[]
  /** Settings RESET tries to clear (dotted names). */
  readonly resetSettings: readonly string[]
  /** The signed context, when the schema verifies one and the probe could read a key to sign with. */
  readonly signed: { readonly facts: SignedContextFacts; readonly key: SigningPads } | null
}

interface SigningPads {
  readonly id: string
  readonly ipad: Buffer
  readonly opad: Buffer
  /** The database's clock (unix seconds) when the key was read: expiries are judged by it. */
  readonly now: number
}

const dottedName = /^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)+$/

function plainSetter(analysis: PolicyAnalyzer, given: ProbeContext | undefined): ContextSetter {
  const context = probeContextSql(analysis, given)
  return {
    sql: context.sql,
    value: (tenant) => tenant,
    description: context.description,
    forgeSql: context.sql.filter((sql) => /^\s*SELECT\b/i.test(sql)),
    resetSettings: (given?.settings ?? analysis.tenantSettings()).filter((name) => dottedName.test(name)),
    signed: null,
  }
}

/**
 * The signed context: tenant A's value is signed the way the app signs it, with the newest active key
 * of the key table (the checking role, owner or superuser, may read it; the app role may not).
 */
async function signedSetter(client: ClientBase, facts: SignedContextFacts): Promise<ContextSetter> {
  const fail = (why: string): RowfenceError =>
    refused(
      `the policies verify a signed context (${facts.verifier.schema}.${facts.verifier.name}()), and ${why}: ` +
        'connect as the owner or a superuser, or pass the SQL that sets the context',
    )
  await client.query('SAVEPOINT rowfence_probe_keys')
  let row: { id: string; ipad: Buffer; opad: Buffer; now: string } | undefined
  try {
    row = (
      await client.query<{ id: string; ipad: Buffer; opad: Buffer; now: string }>(
        `SELECT id, ipad, opad, floor(extract(epoch FROM statement_timestamp()))::text AS now FROM ${facts.keyTable}
          WHERE not_after IS NULL OR not_after > statement_timestamp() ORDER BY created_at DESC, id LIMIT 1`,
      )
    ).rows[0]
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT rowfence_probe_keys')
    throw fail(`the probe cannot read its keys in ${facts.keyTable} to sign tenant A's context`)
  }
  await client.query('RELEASE SAVEPOINT rowfence_probe_keys')
  if (!row) throw fail(`${facts.keyTable} holds no active key (rowfence keys --add)`)
  const key: SigningPads = { id: row.id, ipad: row.ipad, opad: row.opad, now: Number(row.now) }
  const setting = quoteLiteral(facts.setting)
  return {
    sql: [`SELECT set_config(${setting}, $1, true)`],
    value: (tenant) => signWithPads(key, { t: tenant, u: '', c: {}, exp: key.now + 300 }),
    description: `set_config(${setting}, <the tenant's value signed with key ${key.id}>, true)`,
    forgeSql: [`SELECT set_config(${quoteLiteral(TENANT_SETTING)}, $1::text, true)`],
    resetSettings: dottedName.test(facts.setting) ? [facts.setting] : [],
    signed: { facts, key },
  }
}

/** HMAC-SHA256 from the pads, exactly as the verifier recomputes it: `sha256(opad || sha256(ipad || m))`. */
function signWithPads(
  pads: Pick<SigningPads, 'ipad' | 'opad'>,
  payload: { t: string; u: string; c: Record<string, string>; exp: number },
  keyId: string = (pads as SigningPads).id,
): string {
  const body = `v1.${keyId}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('hex')}`
  const inner = createHash('sha256')
    .update(Buffer.concat([pads.ipad, Buffer.from(body, 'utf8')]))
    .digest()
  return `${body}.${createHash('sha256')
    .update(Buffer.concat([pads.opad, inner]))
    .digest('hex')}`
}

/** Triggers whose code could commit outside this transaction (dblink, pg_background, http calls). */
async function refuseEscapingTriggers(client: ClientBase, tables: readonly Relation[]): Promise<void> {
  const result = await client.query<{ name: string }>(
    `SELECT t.tgrelid::regclass::text || ' ' || t.tgname AS name
       FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE NOT t.tgisinternal AND t.tgrelid = ANY ($1::oid[])
        AND p.prosrc ~* '(dblink|pg_background|http_(get|post)|net\\.http|pg_net)'`,
    [tables.map((table) => table.oid)],
  )
  if (result.rows.length > 0) {
    throw refused(
      `trigger ${result.rows[0]!.name} may commit work outside the probe's transaction, so rollback is not guaranteed`,
    )
  }
}

/** The two tenants with the most rows in one table. */
async function busiestTenants(client: ClientBase, table: Relation): Promise<string[]> {
  const column = quoteIdentifier(table.tenantColumn!.name)
  const rows = await client.query<{ tenant: string }>(
    `SELECT ${column}::text AS tenant FROM ${qualifiedName(table.schema, table.name)}
      WHERE ${column} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2`,
  )
  return rows.rows.map((row) => row.tenant)
}

/** The two tenants with the most rows across the tenant tables (as the checking role sees them). */
async function pickTenants(client: ClientBase, tables: readonly Relation[]): Promise<[string, string]> {
  const counts = new Map<string, number>()
  for (const table of tables) {
    const column = quoteIdentifier(table.tenantColumn!.name)
    const rows = await client.query<{ tenant: string; n: string }>(
      `SELECT ${column}::text AS tenant, count(*) AS n FROM ${qualifiedName(table.schema, table.name)}
        WHERE ${column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
    )
    for (const row of rows.rows) counts.set(row.tenant, (counts.get(row.tenant) ?? 0) + Number(row.n))
  }
  const best = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([tenant]) => tenant)
  if (best.length < 2) {
    throw refused('the tenant tables hold fewer than two tenants the checking role can see: pass two tenants')
  }
  return [best[0]!, best[1]!]
}

async function sample(
  client: ClientBase,
  table: Relation,
  attacker: string,
  victim: string,
): Promise<Sample> {
  const column = quoteIdentifier(table.tenantColumn!.name)
  const name = qualifiedName(table.schema, table.name)
  const row = async (tenant: string): Promise<Record<string, unknown> | null> =>
    (
      await client.query<{ row: Record<string, unknown> }>(
        `SELECT to_jsonb(t) AS row FROM ${name} t WHERE ${column}::text = $1 LIMIT 1`,
        [tenant],
      )
    ).rows[0]?.row ?? null
  const count = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${name} WHERE ${column}::text = $1`,
    [victim],
  )
  return {
    victimRows: Number(count.rows[0]?.n ?? 0),
    victim: await row(victim),
    attacker: await row(attacker),
  }
}

/** `$1`-style parameters written inline, for the report only (the probe itself binds them). */
function display(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (match, index: string) => {
    const value = params[Number(index) - 1]
    if (value === undefined) return match
    return quoteLiteral(typeof value === 'string' ? value : JSON.stringify(value))
  })
}

async function probeTable(
  client: ClientBase,
  snapshot: CatalogSnapshot,
  table: Relation,
  sampleRows: Sample,
  parents: ReadonlyMap<string, Record<string, unknown> | null>,
  context: ContextSetter,
  [attacker, victim]: readonly [string, string],
): Promise<ProbeResult[]> {
  const name = qualifiedName(table.schema, table.name)
  const column = quoteIdentifier(table.tenantColumn!.name)
  const results: ProbeResult[] = []
  const columnsWithDefaults = new Set(
    (
      await client.query<{ name: string }>(
        `SELECT attname AS name FROM pg_attribute
          WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
            AND (atthasdef OR attidentity <> '' OR attgenerated <> '')`,
        [table.oid],
      )
    ).rows.map((row) => row.name),
  )
  const generated = new Set(
    (
      await client.query<{ name: string }>(
        `SELECT attname AS name FROM pg_attribute
          WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND (attidentity = 'a' OR attgenerated <> '')`,
        [table.oid],
      )
    ).rows.map((row) => row.name),
  )

  /** Runs one attempt in a savepoint that is always rolled back. */
  const attempt = async (
    probe: ProbeKind,
    sql: string,
    params: unknown[],
    options: {
      context: boolean
      judge: (rows: number, firstRow: Record<string, unknown> | undefined) => boolean
      /** Statements run (and shown) before `sql`, after the context: the stacked part of an injection. */
      prelude?: ReadonlyArray<{ readonly sql: string; readonly params: unknown[]; readonly hidden?: boolean }>
      /** A forge probe: getting through a plain (unsigned) context is `forged`, not `leaked`. */
      forge?: boolean
    },
  ): Promise<void> => {
    const prelude = options.prelude ?? []
    const statement = [
      ...prelude.filter((step) => !step.hidden).map((step) => display(step.sql, step.params)),
      display(sql, params),
    ].join('; ')
    await client.query('SAVEPOINT rowfence_probe')
    try {
      if (options.context) for (const text of context.sql) await client.query(text, [context.value(attacker)])
      for (const step of prelude) await client.query(step.sql, step.params)
      const result = await client.query(sql, params)
      const rows = result.rowCount ?? 0
      const leaked = options.judge(rows, result.rows[0] as Record<string, unknown> | undefined)
      const forged = leaked && options.forge === true && context.signed === null
      results.push({
        table: table.displayName,
        probe,
        outcome: forged ? 'forged' : leaked ? 'leaked' : 'blocked',
        ...(forged ? { ruleId: contextForgeable.id, fix: signedContextFix(context.resetSettings) } : {}),
        statement,
        detail: leaked
          ? probe === 'trigger'
            ? 'the app role attached a trigger to the table'
            : probe === 'truncate'
              ? "the app role emptied every tenant's rows"
              : `${'n' in ((result.rows[0] as object | undefined) ?? {}) ? String((result.rows[0] as { n?: unknown }).n) : rows} row(s) of tenant ${victim}`
          : `0 rows of tenant ${victim}`,
      })
    } catch (error) {
      const code = (error as { code?: unknown }).code
      const oracle = probe === 'unique-probe' && code === '23505'
      results.push({
        table: table.displayName,
        probe,
        outcome: oracle ? 'leaked' : 'blocked',
        statement,
        detail: oracle
          ? `a duplicate of tenant ${victim}'s value fails: the key reveals that the value exists`
          : `refused (SQLSTATE ${typeof code === 'string' ? code : '?'})`,
      })
    } finally {
      await client.query('ROLLBACK TO SAVEPOINT rowfence_probe')
    }
  }
  const skip = (probe: ProbeKind, statement: string, detail: string): void => {
    results.push({ table: table.displayName, probe, outcome: 'skipped', statement, detail })
  }
  const countVictim = `SELECT count(*) AS n FROM ${name} WHERE ${column}::text = $1`
  const readJudge = (_rows: number, row: Record<string, unknown> | undefined): boolean =>
    Number(row?.['n'] ?? 0) > 0
  const hasVictimRows = sampleRows.victimRows > 0

  // 1. Reads, without and with a (foreign) context.
  for (const [probe, context] of [
    ['read-without-context', false],
    ['read', true],
  ] as const) {
    if (!table.app.select) skip(probe, display(countVictim, [victim]), 'the app role may not SELECT')
    else if (!hasVictimRows) skip(probe, display(countVictim, [victim]), `no rows of tenant ${victim}`)
    else await attempt(probe, countVictim, [victim], { context, judge: readJudge })
  }

  // 2. Insert a row that belongs to the victim.
  const template = sampleRows.victim ?? sampleRows.attacker
  const insertSql = (
    row: Record<string, unknown>,
    keep: ReadonlySet<string>,
  ): { sql: string; params: unknown[] } => {
    const columns = Object.keys(row).filter(
      (key) => !generated.has(key) && (!columnsWithDefaults.has(key) || keep.has(key)),
    )
    const list = columns.map(quoteIdentifier).join(', ')
    return {
      sql: `INSERT INTO ${name} (${list}) SELECT ${list} FROM jsonb_populate_record(NULL::${name}, $1::jsonb)`,
      params: [JSON.stringify(row)],
    }
  }
  const tenantKey = table.tenantColumn!.name
  if (!template) {
    skip('insert', `INSERT INTO ${name} ...`, 'no row to copy')
  } else if (!table.app.insert) {
    skip('insert', `INSERT INTO ${name} ...`, 'the app role may not INSERT')
  } else {
    const { sql, params } = insertSql({ ...template, [tenantKey]: victim }, new Set([tenantKey]))
    await attempt('insert', sql, params, { context: true, judge: (rows) => rows > 0 })
  }

  // 3. Update and delete the victim's rows; plant an own row in the victim's tenant.
  const updateSql = `UPDATE ${name} SET ${column} = ${column} WHERE ${column}::text = $1`
  const deleteSql = `DELETE FROM ${name} WHERE ${column}::text = $1`
  const plantSql = `UPDATE ${name} SET ${column} = $1 WHERE ${column}::text = $2`
  if (!table.app.update) skip('update', display(updateSql, [victim]), 'the app role may not UPDATE')
  else if (!hasVictimRows) skip('update', display(updateSql, [victim]), `no rows of tenant ${victim}`)
  else await attempt('update', updateSql, [victim], { context: true, judge: (rows) => rows > 0 })
  if (!table.app.delete) skip('delete', display(deleteSql, [victim]), 'the app role may not DELETE')
  else if (!hasVictimRows) skip('delete', display(deleteSql, [victim]), `no rows of tenant ${victim}`)
  else await attempt('delete', deleteSql, [victim], { context: true, judge: (rows) => rows > 0 })
  if (!table.app.update) skip('plant', display(plantSql, [victim, attacker]), 'the app role may not UPDATE')
  else if (!sampleRows.attacker)
    skip('plant', display(plantSql, [victim, attacker]), `no rows of tenant ${attacker}`)
  else await attempt('plant', plantSql, [victim, attacker], { context: true, judge: (rows) => rows > 0 })

  // 4. Re-parent an own row under the victim's parent row.
  for (const key of snapshot.foreignKeys.filter((candidate) => candidate.table === table.oid)) {
    const parent = parents.get(key.parentDisplayName)
    const pairs = key.columns
      .map((child, i) => [child, key.parentColumns[i]!] as const)
      .filter(([child]) => child !== tenantKey)
    if (pairs.length === 0 || parent === undefined) continue
    const parentName = qualifiedName(key.parentSchema, key.parentName)
    const sql =
      `UPDATE ${name} SET (${pairs.map(([child]) => quoteIdentifier(child)).join(', ')}) = ` +
      `(SELECT ${pairs.map(([, parentColumn]) => quoteIdentifier(parentColumn)).join(', ')} FROM jsonb_populate_record(NULL::${parentName}, $1::jsonb)) ` +
      `WHERE ${column}::text = $2`
    if (!parent)
      skip('re-parent', `${sql} -- ${key.name}`, `no ${key.parentDisplayName} row of tenant ${victim}`)
    else if (!table.app.update || !sampleRows.attacker)
      skip('re-parent', display(sql, [parent, attacker]), 'the app role may not UPDATE, or has no row')
    else await attempt('re-parent', sql, [parent, attacker], { context: true, judge: (rows) => rows > 0 })
  }

  // 5. Unique keys without the tenant column: does a duplicate of the victim's value fail?
  for (const index of snapshot.indexes) {
    if (index.table !== table.oid || !index.unique || !index.valid || index.partial) continue
    if (index.keyAttnums.includes(table.tenantColumn!.attnum)) continue
    const keys = index.keyColumns.filter((key): key is string => key !== null)
    if (keys.length !== index.keyColumns.length) continue
    if (surrogateKind(index) === 'random') {
      skip(
        'unique-probe',
        `INSERT INTO ${name} ... -- ${index.name}`,
        'random surrogate key: nobody can guess a value',
      )
      continue
    }
    if (!sampleRows.victim || !table.app.insert) {
      skip(
        'unique-probe',
        `INSERT INTO ${name} ... -- ${index.name}`,
        sampleRows.victim ? 'the app role may not INSERT' : `no rows of tenant ${victim}`,
      )
      continue
    }
    const row = { ...(sampleRows.attacker ?? sampleRows.victim), [tenantKey]: attacker }
    for (const key of keys) row[key] = sampleRows.victim[key]
    const { sql, params } = insertSql(row, new Set([tenantKey, ...keys]))
    await attempt('unique-probe', sql, params, { context: true, judge: () => false })
  }

  // 6. Privileges RLS does not filter: attach a trigger, truncate.
  const triggerSql = `CREATE TRIGGER rowfence_probe_trigger BEFORE UPDATE ON ${name} FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`
  if (table.app.trigger) await attempt('trigger', triggerSql, [], { context: true, judge: () => true })
  else
    results.push({
      table: table.displayName,
      probe: 'trigger',
      outcome: 'blocked',
      statement: triggerSql,
      detail: 'no TRIGGER privilege',
    })
  const truncateSql = `TRUNCATE ${name}`
  if (table.app.truncate) await attempt('truncate', truncateSql, [], { context: true, judge: () => true })
  else
    results.push({
      table: table.displayName,
      probe: 'truncate',
      outcome: 'blocked',
      statement: truncateSql,
      detail: 'no TRUNCATE privilege',
    })

  // 7. Forge the context as the app role inside A's transaction (issue 18): what one SQL injection can run.
  const victimReadable = table.app.select && hasVictimRows
  const cannotRead = table.app.select ? `no rows of tenant ${victim}` : 'the app role may not SELECT'
  const forgeWhere = (conditions: readonly string[]): string =>
    `SELECT count(*) AS n FROM ${name} WHERE ${conditions.map((condition) => `(${condition}) IS NOT NULL`).join(' AND ')} AND ${column}::text = $1`
  // Where the plain attempt already got through, forging proves nothing more.
  const leakedAlready = (probe: ProbeKind): boolean =>
    results.some((result) => result.probe === probe && result.outcome === 'leaked')
  const already = 'leaks without forging the context (see above)'
  if (context.forgeSql.length === 0) {
    skip('forge-set-config', countVictim, 'the context is not set with a SELECT: nothing to inject')
  } else if (leakedAlready('read')) {
    skip('forge-set-config', display(forgeWhere(context.forgeSql), [victim]), already)
  } else if (!victimReadable) {
    skip('forge-set-config', display(forgeWhere(context.forgeSql), [victim]), cannotRead)
  } else {
    await attempt('forge-set-config', forgeWhere(context.forgeSql), [victim], {
      context: true,
      judge: readJudge,
      forge: true,
    })
  }
  if (context.forgeSql.length === 0 || !template || !table.app.insert) {
    skip('forge-write', `INSERT INTO ${name} ...`, 'no row to copy, or the app role may not INSERT')
  } else if (leakedAlready('insert')) {
    skip('forge-write', `INSERT INTO ${name} ...`, already)
  } else {
    const { sql, params } = insertSql({ ...template, [tenantKey]: victim }, new Set([tenantKey]))
    await attempt('forge-write', sql, params, {
      context: true,
      judge: (rows) => rows > 0,
      prelude: context.forgeSql.map((text) => ({ sql: text, params: [victim] })),
      forge: true,
    })
  }
  const reset = context.resetSettings.map((setting) => ({
    sql: `RESET ${setting.split('.').map(quoteIdentifier).join('.')}`,
    params: [],
  }))
  if (reset.length === 0) skip('forge-reset', countVictim, 'no context setting to RESET')
  else if (leakedAlready('read') || leakedAlready('read-without-context'))
    skip('forge-reset', display(countVictim, [victim]), already)
  else if (!victimReadable) skip('forge-reset', display(countVictim, [victim]), cannotRead)
  else
    await attempt('forge-reset', countVictim, [victim], { context: true, judge: readJudge, prelude: reset })
  // SET ROLE is checked against the session user: the probe becomes the app role's session first.
  const setRole = { sql: `SET ROLE ${quoteIdentifier(table.owner)}`, params: [] }
  const session =
    snapshot.checker.name === snapshot.app.name
      ? []
      : [
          {
            sql: `SET LOCAL SESSION AUTHORIZATION ${quoteIdentifier(snapshot.app.name)}`,
            params: [],
            hidden: true,
          },
        ]
  if (leakedAlready('read')) skip('forge-set-role', display(countVictim, [victim]), already)
  else if (!victimReadable) skip('forge-set-role', display(countVictim, [victim]), cannotRead)
  else if (session.length > 0 && !snapshot.checker.superuser)
    skip(
      'forge-set-role',
      `${setRole.sql}; ${display(countVictim, [victim])}`,
      "needs a superuser connection: SET ROLE is checked against the session's login role",
    )
  else
    await attempt('forge-set-role', countVictim, [victim], {
      context: true,
      judge: readJudge,
      prelude: [...session, setRole],
    })
  // A signed context: values an attacker can build, set in the same statement.
  if (context.signed) {
    const { facts, key } = context.signed
    const randomPads = { ipad: randomBytes(64), opad: randomBytes(64) }
    const forB = { t: victim, u: '', c: {}, exp: key.now + 300 }
    const genuineA = context.value(attacker).split('.')
    const spliced = [
      genuineA[0],
      genuineA[1],
      Buffer.from(
        Buffer.from(genuineA[2] ?? '', 'hex')
          .toString('utf8')
          .replace(attacker, victim),
        'utf8',
      ).toString('hex'),
      genuineA[3],
    ].join('.')
    const values: Array<[ProbeKind, string]> = [
      ['forge-guessed-key', signWithPads(randomPads, forB, key.id)],
      ['forge-unknown-key', signWithPads(randomPads, forB, `probe${randomBytes(4).toString('hex')}`)],
      ['forge-expired', signWithPads(key, { ...forB, exp: key.now - 3600 }, key.id)],
      ['forge-spliced', spliced],
    ]
    const signedWhere = `SELECT count(*) AS n FROM ${name} WHERE (SELECT set_config(${quoteLiteral(facts.setting)}, $2, true)) IS NOT NULL AND ${column}::text = $1`
    for (const [probe, value] of values) {
      if (leakedAlready('read')) skip(probe, display(signedWhere, [victim, value]), already)
      else if (!victimReadable) skip(probe, display(signedWhere, [victim, value]), cannotRead)
      else await attempt(probe, signedWhere, [victim, value], { context: true, judge: readJudge })
    }
  }
  return results
}

/** Human output: one line per attempt, LEAKED ones with their statement. */
export function formatProbeText(report: ProbeReport): string {
  const lines = [
    `rowfence probe: database ${report.database}, app role ${report.appRole}, tenants ${report.tenants[0]} (attacker) and ${report.tenants[1]} (victim)`,
    `context: ${report.context}; everything ran in one transaction that was rolled back (${report.durationMs} ms)`,
  ]
  const byTable = new Map<string, ProbeResult[]>()
  for (const result of report.results)
    byTable.set(result.table, [...(byTable.get(result.table) ?? []), result])
  for (const [table, results] of byTable) {
    lines.push('', table)
    for (const result of results) {
      const label = { leaked: 'LEAKED ', blocked: 'blocked', skipped: 'skipped', forged: 'forged ' }[
        result.outcome
      ]
      lines.push(`  ${label} ${result.probe.padEnd(20)} ${result.detail}`)
      if (result.outcome === 'leaked' || result.outcome === 'forged') {
        lines.push(`          ${result.statement}`)
      }
    }
  }
  const [forged] = report.forged
  if (forged) {
    lines.push(
      '',
      `${contextForgeable.id} (${contextForgeable.severity}): the app role switched tenant by setting the plain context ` +
        'itself (forged above); isolation then rests on the app having no SQL injection',
      `  fix: ${(forged.fix ?? '').split('\n').join('\n       ')}`,
    )
  }
  const blocked = report.results.filter((result) => result.outcome === 'blocked').length
  const skipped = report.results.filter((result) => result.outcome === 'skipped').length
  const forgedCount =
    report.forged.length > 0 ? `, ${report.forged.length} forged (${contextForgeable.id})` : ''
  lines.push('', `${report.leaked.length} leaked, ${blocked} blocked, ${skipped} skipped${forgedCount}`)
  return lines.join('\n')
}
