import { formatContextKey, generateContextKey, parseContextKey, type ContextSigningKey } from '@rowfence/core'
import { addContextKey, listContextKeys, retireContextKey } from '@rowfence/core/migrate'
import { CliError, usageError } from '../cli-error.ts'
import { databaseUrl, loadConfig } from '../config.ts'
import { withOwnerPool } from './migrate.ts'
import { parseCommandArgs, type Command } from './shared.ts'

const KEY_ENV = 'ROWFENCE_CONTEXT_KEY'

export const keysCommand: Command = {
  name: 'keys',
  summary: 'Manage the signing keys of the signed tenant context (list, add, rotate, retire)',
  usage: `rowfence keys [--add | --rotate | --retire <id> [--at <time>]] [--key-env <NAME>] [--config <file>]

The signed context (docs/signed-context.md) is verified in the database with keys only the owner role
can read (rowfence.context_keys). The app signs with the same key, from its environment.

  (no flag)         list the keys: id, created, retired from
  --add             install the key in $ROWFENCE_CONTEXT_KEY (<id>:<secret>, hex or base64, >= 32 bytes)
  --rotate          make a new key, install it next to the current ones and print it as
                    ROWFENCE_CONTEXT_KEY=<id>:<secret> (stdout, nothing else): deploy the app with it,
                    then retire the old key
  --retire <id>     stop verifying values signed with <id> from --at (default now)
  --at <time>       an ISO 8601 time for --retire (e.g. in 10 minutes, to let running requests finish)
  --key-env <NAME>  read the key for --add from NAME instead of ROWFENCE_CONTEXT_KEY
  --config <file>   config file (default: rowfence.config.* or package.json "rowfence", searched upward)

Connects as the owner role with DATABASE_URL (or the config's env.databaseUrl). Run it as the owner,
never as the app role: the app role cannot read or change the keys. --add and --rotate create the key
table if the signed migration has not yet, so an existing schema can get its key before that migration
(docs/signed-context.md, "Moving an existing schema to the signed context").`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      add: { type: 'boolean' },
      rotate: { type: 'boolean' },
      retire: { type: 'string' },
      at: { type: 'string' },
      'key-env': { type: 'string' },
      config: { type: 'string' },
    })
    if (values.help) return (io.out(this.usage), 0)
    const actions = [values.add, values.rotate, values.retire !== undefined].filter(Boolean).length
    if (actions > 1) throw usageError('--add, --rotate and --retire do not go together')
    if (values.at !== undefined && values.retire === undefined) throw usageError('--at goes with --retire')
    const at = values.at === undefined ? new Date() : new Date(values.at)
    if (Number.isNaN(at.getTime()))
      throw usageError(`--at ${JSON.stringify(values.at)} is not an ISO 8601 time`)
    let key: ContextSigningKey | undefined
    if (values.add) {
      const variable = values['key-env'] ?? KEY_ENV
      const text = process.env[variable]
      if (!text) throw usageError(`--add reads the key from ${variable}, which is not set`)
      key = parseContextKey(text)
    }
    const loaded = await loadConfig(process.cwd(), values.config)
    const url = databaseUrl(loaded)
    if (!url) {
      throw usageError(
        `no database: set ${loaded.config.env?.databaseUrl ?? 'DATABASE_URL'} to the owner role's connection string`,
      )
    }
    return withOwnerPool(url, async (pool) => {
      if (values.rotate) {
        const fresh = generateContextKey()
        await addContextKey(pool, fresh)
        io.out(`${KEY_ENV}=${formatContextKey(fresh)}`)
        io.err(`installed ${fresh.id}; deploy the app with it, then: rowfence keys --retire <old id>`)
      } else if (key) {
        await addContextKey(pool, key)
        io.err(`installed ${key.id}`)
      } else if (values.retire !== undefined) {
        if (!(await retireContextKey(pool, values.retire, at))) {
          throw new CliError('ROWFENCE_KEY_NOT_FOUND', `no key ${JSON.stringify(values.retire)}`)
        }
        io.err(`${values.retire} verifies nothing from ${at.toISOString()}`)
      } else {
        for (const row of await listContextKeys(pool)) {
          io.out(
            `${row.id}  created ${row.createdAt.toISOString()}${row.notAfter ? `  retired from ${row.notAfter.toISOString()}` : ''}`,
          )
        }
      }
      return 0
    })
  },
}
