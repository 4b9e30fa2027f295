import pg from 'pg'
import { isRowfenceError } from '@rowfence/core'
import {
  checkDatabase,
  checkRules,
  formatJson,
  formatProbeText,
  formatSarif,
  formatText,
  probeDatabase,
  readBaseline,
  writeBaseline,
  type Baseline,
  type CheckReport,
  type ProbeContext,
  type ProbeReport,
} from '@rowfence/core/check'
import { CliError, maskUrl, usageError } from '../cli-error.ts'
import { appDatabaseUrl, databaseUrl as configDatabaseUrl, loadConfig, type LoadedConfig } from '../config.ts'
import { parseCommandArgs, type Command, type CommandIo } from './shared.ts'

const formats = ['text', 'json', 'sarif'] as const
type Format = (typeof formats)[number]

const ruleWidth = Math.max(...checkRules.map((rule) => rule.id.length))
const ruleList = checkRules
  .map((rule) => `  ${rule.id.padEnd(ruleWidth)}  ${rule.severity.padEnd(7)}  ${rule.summary}`)
  .join('\n')

/** The app role to check for: --app-role, else the config's appRole, else the user of APP_DATABASE_URL, else rowfence_app. */
export function defaultAppRole(loaded: LoadedConfig, env: NodeJS.ProcessEnv): string {
  if (loaded.config.appRole) return loaded.config.appRole
  const appUrl = appDatabaseUrl(loaded, env)
  if (appUrl) {
    try {
      const user = decodeURIComponent(new URL(appUrl).username)
      if (user) return user
    } catch {
      // not a URL: fall through to the default
    }
  }
  return 'rowfence_app'
}

async function loadBaseline(file: string | undefined): Promise<Baseline | undefined> {
  if (file === undefined) return undefined
  try {
    return await readBaseline(file)
  } catch (error) {
    if (isRowfenceError(error, 'ROWFENCE_BASELINE_INVALID')) {
      throw new CliError(error.code, error.message, { exitCode: 2, cause: error })
    }
    throw error
  }
}

/** The database to check: --url / --database-url, else DATABASE_URL (or the config's env.databaseUrl). Never an embedded database. */
export function checkDatabaseUrl(
  flag: string | undefined,
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv,
): string {
  const url = flag ?? configDatabaseUrl(loaded, env)
  if (!url) {
    const variable = loaded.config.env?.databaseUrl ?? 'DATABASE_URL'
    throw usageError(
      `no database to check: pass --url or set ${variable} (check never starts a database of its own)`,
    )
  }
  return url
}

/** `--tenant-column tenant_id` (the default) and `--tenant-column orders=org_id` (per table), repeatable. */
export function tenantColumnOptions(
  values: readonly string[] | undefined,
  loaded: LoadedConfig,
): {
  tenantColumn: string
  tenantColumns: Record<string, string>
} {
  // The config's tenantColumn first (one name, or { '*': default, table: column }); flags override it.
  const configured = loaded.config.tenantColumn
  let tenantColumn = typeof configured === 'string' ? configured : (configured?.['*'] ?? 'tenant_id')
  const tenantColumns: Record<string, string> = {}
  if (typeof configured === 'object') {
    for (const [table, column] of Object.entries(configured)) if (table !== '*') tenantColumns[table] = column
  }
  for (const value of values ?? []) {
    const at = value.indexOf('=')
    if (at < 0) {
      if (value === '') throw usageError('--tenant-column cannot be empty')
      tenantColumn = value
      continue
    }
    const table = value.slice(0, at)
    const column = value.slice(at + 1)
    if (table === '' || column === '') throw usageError(`--tenant-column ${value}: expected TABLE=COLUMN`)
    tenantColumns[table] = column
  }
  return { tenantColumn, tenantColumns }
}

/** `--context-setting NAME` (repeatable) or `--context-sql SQL` ($1 = tenant id): how the app sets its context. */
export function probeContext(
  settings: readonly string[] | undefined,
  sql: string | undefined,
): ProbeContext | undefined {
  if (sql !== undefined && sql !== '') return { sql }
  if (settings && settings.length > 0) return { settings }
  return undefined
}

export async function connect(url: string, name = 'rowfence check'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: name })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return client
  } catch (cause) {
    await client.end().catch(() => undefined)
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new CliError('ROWFENCE_DATABASE_UNAVAILABLE', `cannot connect to ${maskUrl(url)}: ${reason}`, {
      exitCode: 2,
      cause,
    })
  }
}

function render(report: CheckReport, format: Format): string {
  if (format === 'json') return formatJson(report)
  if (format === 'sarif') return formatSarif(report)
  return formatText(report)
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Lint a live database for tenant-isolation mistakes',
  usage: `rowfence check [--url URL] [--app-role NAME] [--tenant-column tenant_id] [--tenant-column T=COL ...]
               [--schema public ...] [--format text|json|sarif] [--baseline FILE] [--write-baseline FILE]
               [--shared TABLE ...] [--no-plans] [--no-verify] [--probe [--context-setting NAME | --context-sql SQL]]

Inspects a live PostgreSQL database (any schema, not only rowfence's) and reports every way tenant
isolation can fail, each with the SQL that fixes it. Reads the catalog inside a READ ONLY transaction;
then verifies each fix by applying it in a transaction that is rolled back (it must run and clear its
finding; otherwise it is printed as an unverified suggestion). Exit 0 when clean, 1 when error-level
findings remain after the baseline (or a probe leaked), 2 on usage or connection errors, and when no
table has the tenant column (a check of nothing is not a pass).

  --url URL              connection string (default: DATABASE_URL; required: check never starts a database)
  --database-url URL     the same as --url
  --config FILE          config file (default: rowfence.config.* or package.json "rowfence", searched upward);
                         gives appRole, tenantColumn, schemas and env.databaseUrl / env.appDatabaseUrl
  --app-role NAME        the role the app connects as (default: user of APP_DATABASE_URL, else rowfence_app)
  --tenant-column NAME   the column that makes a table a tenant table (default: tenant_id); TABLE=COLUMN
                         (repeatable) gives one table its own, e.g. --tenant-column orders=org_id
  --schema NAME          a schema to check (default: public; repeatable)
  --format FORMAT        text (default), json, or sarif (SARIF 2.1.0 for code-scanning UIs)
  --baseline FILE        accept the findings listed in FILE (they are reported but do not fail)
  --write-baseline FILE  write every current finding to FILE as accepted, then exit 0
  --shared TABLE         a table shared across tenants on purpose (repeatable); also:
                         COMMENT ON TABLE t IS 'rowfence:shared'
  --no-plans             decide context-read-per-row from policy text instead of EXPLAIN
  --no-verify            print fixes without verifying them (no write transaction at all)
  --probe                also run the live probes (see rowfence probe --help); a leak exits 1
  --context-setting NAME for --probe: a setting the app sets to the tenant id (repeatable; else inferred)
  --context-sql SQL      for --probe: the statement that sets the app's context, $1 = the tenant id

Rules:
${ruleList}`,
  async run(argv, io: CommandIo) {
    const { values } = parseCommandArgs(argv, {
      url: { type: 'string' },
      'database-url': { type: 'string' },
      config: { type: 'string' },
      'app-role': { type: 'string' },
      'tenant-column': { type: 'string', multiple: true },
      schema: { type: 'string', multiple: true },
      format: { type: 'string', default: 'text' },
      baseline: { type: 'string' },
      'write-baseline': { type: 'string' },
      shared: { type: 'string', multiple: true },
      'no-plans': { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      probe: { type: 'boolean' },
      'context-setting': { type: 'string', multiple: true },
      'context-sql': { type: 'string' },
    })
    if (values.help) return (io.out(this.usage), 0)
    const format = values.format as Format
    if (!formats.includes(format)) throw usageError(`--format must be one of ${formats.join(', ')}`)
    if (values['app-role'] === '') throw usageError('--app-role cannot be empty')
    if ((values.schema ?? []).includes('')) throw usageError('--schema cannot be empty')
    const loaded = await loadConfig(process.cwd(), values.config)
    const { tenantColumn, tenantColumns } = tenantColumnOptions(values['tenant-column'], loaded)
    const schemas =
      values.schema && values.schema.length > 0 ? values.schema : [...(loaded.config.schemas ?? ['public'])]
    const appRole = values['app-role'] ?? defaultAppRole(loaded, process.env)
    const baseline = await loadBaseline(values.baseline)
    const url = checkDatabaseUrl(values.url ?? values['database-url'], loaded, process.env)
    const client = await connect(url)
    let report: CheckReport
    let probe: ProbeReport | undefined
    try {
      report = await checkDatabase(client, {
        schemas,
        tenantColumn,
        tenantColumns,
        appRole,
        sharedTables: values.shared,
        plans: !values['no-plans'],
        verifyFixes: !values['no-verify'],
        baseline,
      })
      if (report.tenantTables.length === 0) {
        const hint =
          report.suggestedTenantColumns.length > 0
            ? `; columns that look like tenant keys: ${report.suggestedTenantColumns.join(', ')} (pass --tenant-column)`
            : ''
        throw new CliError(
          'ROWFENCE_CHECK_TARGET_NOT_FOUND',
          `no table in ${schemas.join(', ')} has the tenant column ${tenantColumn}, so nothing was checked${hint}`,
          { exitCode: 2 },
        )
      }
      if (values.probe) {
        probe = await probeDatabase(client, {
          schemas,
          tenantColumn,
          tenantColumns,
          appRole,
          context: probeContext(values['context-setting'], values['context-sql']),
        })
      }
    } catch (error) {
      if (isRowfenceError(error, 'ROWFENCE_PROBE_REFUSED')) {
        throw new CliError(error.code, error.message, { exitCode: 2, cause: error })
      }
      if (isRowfenceError(error, 'ROWFENCE_CHECK_TARGET_NOT_FOUND')) {
        throw new CliError(error.code, error.message, { exitCode: 2, cause: error })
      }
      if (isRowfenceError(error, 'ROWFENCE_DATABASE_UNAVAILABLE')) {
        throw new CliError(error.code, `lost the connection to ${maskUrl(url)}`, {
          exitCode: 2,
          cause: error,
        })
      }
      throw error
    } finally {
      await client.end().catch(() => undefined)
    }
    const file = values['write-baseline']
    if (file !== undefined) {
      const all = [...report.findings, ...report.baselined]
      await writeBaseline(file, all)
      io.err(`wrote ${all.length} accepted finding(s) to ${file}`)
      report = { ...report, findings: [], baselined: all }
    }
    io.out(render(report, format))
    if (probe) io.out(format === 'text' ? `\n${formatProbeText(probe)}` : JSON.stringify(probe, null, 2))
    const failed =
      report.findings.some((finding) => finding.severity === 'error') || (probe?.leaked.length ?? 0) > 0
    return failed ? 1 : 0
  },
}
