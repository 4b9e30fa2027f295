import { resolve } from 'node:path'
import {
  generateMigration,
  isRowfenceSchema,
  SNAPSHOT_FILE,
  type RowfenceSchema,
} from '@rowfence/core/schema'
import { CliError, usageError } from '../cli-error.ts'
import { configPath, importModule, loadConfig } from '../config.ts'
import { parseCommandArgs, type Command } from './shared.ts'

/** Imports a schema module (TypeScript through tsx or Node's type stripping) and picks `schema` or the default export. */
async function loadSchema(path: string): Promise<RowfenceSchema> {
  let module: Record<string, unknown>
  try {
    module = await importModule(resolve(path))
  } catch (cause) {
    if (cause instanceof CliError) throw cause
    throw new CliError(
      'ROWFENCE_CONFIG_INVALID',
      `Cannot load the schema module ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    )
  }
  const schema = module['schema'] ?? module['default']
  if (!isRowfenceSchema(schema)) {
    throw new CliError(
      'ROWFENCE_CONFIG_INVALID',
      `${path} must export \`schema\` (or a default export) made with rowfenceSchema()`,
    )
  }
  return schema
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'Write the next SQL migration from the TypeScript schema',
  usage: `rowfence generate [--schema <module>] [--dir <path>] [--config <file>] [--name <name>]
                  [--dry-run] [--allow-drop] [--snapshot-only]

Compares the TypeScript schema with the last generated state (<dir>/${SNAPSHOT_FILE}) and
writes the difference as the next numbered plain-SQL migration, NNNN_<name>.sql, together with the
updated snapshot: commit both. Needs no database. Covers new tables; new and changed columns, keys,
checks and indexes; new, changed and dropped policies and grants. A rename looks like a drop plus an
add. Prints "nothing to generate" when the schema is unchanged.

  --schema <module>  module exporting \`schema\` (or default) made with rowfenceSchema(); TypeScript
                     needs tsx in the project or Node.js >= 22.18 (default: "schema" of the config)
  --dir <path>       migrations folder (default: "migrations" of the config)
  --config <file>    config file (default: rowfence.config.* or package.json "rowfence", searched upward)
  --name <name>      migration name: letters, digits, _ and - (default: derived from the changes)
  --dry-run          print the migration, write nothing
  --allow-drop       emit DROP TABLE / DROP COLUMN for removed definitions (deletes data)
  --snapshot-only    record the schema as generated without writing a migration (after you wrote
                     that migration by hand)`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      schema: { type: 'string' },
      dir: { type: 'string' },
      config: { type: 'string' },
      name: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'allow-drop': { type: 'boolean' },
      'snapshot-only': { type: 'boolean' },
    })
    if (values.help) return (io.out(this.usage), 0)
    if (values.name !== undefined && !/^[A-Za-z0-9_-]{1,60}$/.test(values.name)) {
      throw usageError('--name may only use letters, digits, _ and - (at most 60 characters)')
    }
    const loaded = await loadConfig(process.cwd(), values.config)
    const schemaPath = values.schema ?? configPath(loaded, loaded.config.schema)
    const dir = values.dir ?? configPath(loaded, loaded.config.migrations)
    const missing = [
      schemaPath === undefined ? '--schema <module> (or "schema" in rowfence.config.*)' : undefined,
      dir === undefined ? '--dir <path> (or "migrations" in rowfence.config.*)' : undefined,
    ].filter((item) => item !== undefined)
    if (schemaPath === undefined || dir === undefined) {
      throw usageError(
        `missing ${missing.join(' and ')}; ${loaded.file ? `config: ${loaded.file}` : 'no config file found'}`,
      )
    }
    const schema = await loadSchema(schemaPath)
    const dryRun = values['dry-run'] === true
    const result = await generateMigration(schema, {
      dir,
      name: values.name,
      dryRun,
      allowDrop: values['allow-drop'],
      snapshotOnly: values['snapshot-only'],
    })
    switch (result.status) {
      case 'unchanged':
        io.err(`schema unchanged since ${result.previous ?? 'the last snapshot'}: nothing to generate`)
        break
      case 'snapshot-only':
        io.err(`${dryRun ? 'would record' : 'recorded'} the schema in ${resolve(dir, SNAPSHOT_FILE)}`)
        break
      case 'dry-run':
        io.out(result.sql.trimEnd())
        io.err(`dry run: would write ${result.file} (nothing written)`)
        break
      case 'written':
        io.out(result.file ?? '')
        io.err(
          `wrote ${result.id}.sql and ${SNAPSHOT_FILE}; review and commit both, then run rowfence migrate`,
        )
        if (result.operations.some((op) => op.kind === 'createContext' && op.context.signed)) {
          io.err(
            'the policies trust the signed context: after migrating, install a key as the owner ' +
              '(rowfence keys --rotate makes and prints one, rowfence keys --add installs $ROWFENCE_CONTEXT_KEY) ' +
              'and sign with it in the app (bindContextConfig, docs/signed-context.md)',
          )
        }
        break
    }
    return 0
  },
}
