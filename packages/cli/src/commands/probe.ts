import { isRowfenceError } from '@rowfence/core'
import { formatProbeText, probeDatabase, type ProbeReport } from '@rowfence/core/check'
import { CliError, maskUrl, usageError } from '../cli-error.ts'
import { loadConfig } from '../config.ts'
import { checkDatabaseUrl, connect, defaultAppRole, probeContext, tenantColumnOptions } from './check.ts'
import { parseCommandArgs, type Command, type CommandIo } from './shared.ts'

export const probeCommand: Command = {
  name: 'probe',
  summary: 'Attack tenant isolation live, as the app role, in a transaction that is rolled back',
  usage: `rowfence probe [--url URL] [--app-role NAME] [--tenant-column tenant_id] [--tenant-column T=COL ...]
               [--schema public ...] [--table NAME ...] [--tenants A,B]
               [--context-setting NAME ... | --context-sql SQL] [--format text|json]

As the app role, with tenant A's context, tries for every tenant table to read, insert, update, delete,
plant a row in, re-parent a row under and probe the unique keys of tenant B, to attach a trigger and to
truncate; then, as an SQL injection would, to forge the context: set_config of the tenant setting to B
inside a statement and before a write, RESET, SET ROLE, and on a signed context a value forged with a
guessed key, an unknown key, expired, or A's own value with B's id spliced in. Each attempt is reported
as blocked or LEAKED with its statement; on a plain context the set_config forgeries are reported as
forged (the context-forgeable advisory, with its fix), which does not fail the run. Everything runs in ONE
transaction that is always rolled back (sequences still advance); the probe refuses to run when it
cannot guarantee that. Connect as a role that may SET ROLE to the app role and can see both tenants'
rows (the owner or a superuser). Exit 0 when every attempt is blocked, 1 on any leak, 2 on usage errors
or a refusal.

  --url URL              connection string (default: DATABASE_URL; required)
  --config FILE          config file (as for check)
  --app-role NAME        the role the app connects as (default: user of APP_DATABASE_URL, else rowfence_app)
  --tenant-column NAME   as for check (TABLE=COLUMN for one table, repeatable)
  --schema NAME          a schema to probe (default: public; repeatable)
  --table NAME           only these tables (repeatable)
  --tenants A,B          the attacker's and the victim's tenant ids (default: the two with most rows)
  --context-setting NAME a setting the app sets to the tenant id (repeatable; default: inferred from policies)
  --context-sql SQL      the statement that sets the app's context, with $1 = the tenant id
  --format FORMAT        text (default) or json`,
  async run(argv, io: CommandIo) {
    const { values } = parseCommandArgs(argv, {
      url: { type: 'string' },
      'database-url': { type: 'string' },
      config: { type: 'string' },
      'app-role': { type: 'string' },
      'tenant-column': { type: 'string', multiple: true },
      schema: { type: 'string', multiple: true },
      table: { type: 'string', multiple: true },
      tenants: { type: 'string' },
      'context-setting': { type: 'string', multiple: true },
      'context-sql': { type: 'string' },
      format: { type: 'string', default: 'text' },
    })
    if (values.help) return (io.out(this.usage), 0)
    if (values.format !== 'text' && values.format !== 'json')
      throw usageError('--format must be text or json')
    const tenants = values.tenants?.split(',').map((tenant) => tenant.trim())
    if (tenants && (tenants.length !== 2 || tenants.some((tenant) => tenant === ''))) {
      throw usageError('--tenants takes two tenant ids: ATTACKER,VICTIM')
    }
    const loaded = await loadConfig(process.cwd(), values.config)
    const { tenantColumn, tenantColumns } = tenantColumnOptions(values['tenant-column'], loaded)
    const url = checkDatabaseUrl(values.url ?? values['database-url'], loaded, process.env)
    const client = await connect(url, 'rowfence probe')
    let report: ProbeReport
    try {
      report = await probeDatabase(client, {
        schemas:
          values.schema && values.schema.length > 0
            ? values.schema
            : [...(loaded.config.schemas ?? ['public'])],
        tenantColumn,
        tenantColumns,
        appRole: values['app-role'] ?? defaultAppRole(loaded, process.env),
        tables: values.table,
        tenants: tenants ? [tenants[0]!, tenants[1]!] : undefined,
        context: probeContext(values['context-setting'], values['context-sql']),
      })
    } catch (error) {
      if (
        isRowfenceError(error, 'ROWFENCE_PROBE_REFUSED') ||
        isRowfenceError(error, 'ROWFENCE_CHECK_TARGET_NOT_FOUND')
      ) {
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
    io.out(values.format === 'json' ? JSON.stringify(report, null, 2) : formatProbeText(report))
    return report.leaked.length > 0 ? 1 : 0
  },
}
