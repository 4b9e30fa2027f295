import pg from 'pg'
import { isRowfenceError } from '@rowfence/core'
import {
  checkDatabase,
  checkRules,
  formatJson,
  formatSarif,
  formatText,
  readBaseline,
  writeBaseline,
  type Baseline,
  type CheckReport,
} from '@rowfence/core/check'
import { CliError, maskUrl, usageError } from '../cli-error.ts'
import { appDatabaseUrl, databaseUrl, loadConfig, type LoadedConfig } from '../config.ts'
import { parseCommandArgs, type Command, type CommandIo } from './shared.ts'

const formats = ['text', 'json', 'sarif'] as const
type Format = (typeof formats)[number]

const ruleWidth = Math.max(...checkRules.map((rule) => rule.id.length))
const ruleList = checkRules
  .map((rule) => `  ${rule.id.padEnd(ruleWidth)}  ${rule.severity.padEnd(7)}  ${rule.summary}`)
  .join('\n')

/** The app role to check for: --app-role, else the config's appRole, else the user of APP_DATABASE_URL, else rowfence_app. */
function defaultAppRole(loaded: LoadedConfig, env: NodeJS.ProcessEnv): string {
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

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'rowfence check' })
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
  usage: `rowfence check [--database-url URL] [--app-role NAME] [--tenant-column tenant_id] [--schema public]
               [--format text|json|sarif] [--baseline FILE] [--write-baseline FILE]
               [--shared TABLE ...] [--no-plans]

Inspects a live PostgreSQL database (any schema, not only rowfence's) and reports every way tenant
isolation can fail, each with the SQL that fixes it. Reads the catalog inside a READ ONLY transaction
and needs no write privilege. Exit 0 when clean, 1 when error-level findings remain after the baseline,
2 on usage or connection errors.

  --database-url URL     connection string (default: DATABASE_URL, or the config's env.databaseUrl)
  --config FILE          config file (default: rowfence.config.* or package.json "rowfence", searched upward)
  --app-role NAME        the role the app connects as (default: config appRole, else user of APP_DATABASE_URL,
                         else rowfence_app)
  --tenant-column NAME   the column that makes a table a tenant table (default: tenant_id)
  --schema NAME          the schema to check (default: public)
  --format FORMAT        text (default), json, or sarif (SARIF 2.1.0 for code-scanning UIs)
  --baseline FILE        accept the findings listed in FILE (they are reported but do not fail)
  --write-baseline FILE  write every current finding to FILE as accepted, then exit 0
  --shared TABLE         a table shared across tenants on purpose (repeatable); also:
                         COMMENT ON TABLE t IS 'rowfence:shared'
  --no-plans             decide context-read-per-row from policy text instead of EXPLAIN

Rules:
${ruleList}`,
  async run(argv, io: CommandIo) {
    const { values } = parseCommandArgs(argv, {
      'database-url': { type: 'string' },
      'app-role': { type: 'string' },
      'tenant-column': { type: 'string' },
      schema: { type: 'string' },
      config: { type: 'string' },
      format: { type: 'string', default: 'text' },
      baseline: { type: 'string' },
      'write-baseline': { type: 'string' },
      shared: { type: 'string', multiple: true },
      'no-plans': { type: 'boolean' },
    })
    if (values.help) return (io.out(this.usage), 0)
    const format = values.format as Format
    if (!formats.includes(format)) throw usageError(`--format must be one of ${formats.join(', ')}`)
    for (const name of ['app-role', 'tenant-column', 'schema'] as const) {
      if (values[name] === '') throw usageError(`--${name} cannot be empty`)
    }
    const baseline = await loadBaseline(values.baseline)

    const loaded = await loadConfig(process.cwd(), values.config)
    const url = values['database-url'] ?? databaseUrl(loaded)
    if (!url) {
      throw new CliError(
        'ROWFENCE_CONFIG_INVALID',
        `no database to check: pass --database-url or set ${loaded.config.env?.databaseUrl ?? 'DATABASE_URL'}`,
        { exitCode: 2 },
      )
    }
    const configColumn = loaded.config.tenantColumn
    const tenantColumn =
      values['tenant-column'] ??
      (typeof configColumn === 'string' ? configColumn : (configColumn?.['*'] ?? 'tenant_id'))
    const schema = values.schema ?? loaded.config.schemas?.[0] ?? 'public'
    const client = await connect(url)
    let report: CheckReport
    try {
      report = await checkDatabase(client, {
        schema,
        tenantColumn,
        appRole: values['app-role'] ?? defaultAppRole(loaded, process.env),
        sharedTables: values.shared,
        plans: !values['no-plans'],
        baseline,
      })
    } catch (error) {
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
    return report.findings.some((finding) => finding.severity === 'error') ? 1 : 0
  },
}
