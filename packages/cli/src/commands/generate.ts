import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  generateMigration,
  isRowfenceSchema,
  SNAPSHOT_FILE,
  type RowfenceSchema,
} from '@rowfence/core/schema'
import { demoMigrationsDir, demoSchema } from '@rowfence/demo'
import { CliError, usageError } from '../cli-error.ts'
import { parseCommandArgs, type Command } from './shared.ts'

/** Imports a schema module (TypeScript works: the CLI runs under tsx) and picks `schema` or the default export. */
async function loadSchema(path: string): Promise<RowfenceSchema> {
  let module: Record<string, unknown>
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>
  } catch (cause) {
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
  usage: `rowfence generate [--schema <module> --dir <path>] [--name <name>] [--dry-run] [--allow-drop]
                  [--snapshot-only]

Compares the TypeScript schema with the last generated state (<dir>/${SNAPSHOT_FILE}) and
writes the difference as the next numbered plain-SQL migration, NNNN_<name>.sql, together with the
updated snapshot: commit both. Needs no database. Covers new tables; new and changed columns, keys,
checks and indexes; new, changed and dropped policies and grants. A rename looks like a drop plus an
add. Prints "nothing to generate" when the schema is unchanged.

  --schema <module>  module exporting \`schema\` (or default) made with rowfenceSchema(); TypeScript
                     is fine (default: the demo app's schema)
  --dir <path>       migrations folder (default: the demo app's migrations; required with --schema)
  --name <name>      migration name: letters, digits, _ and - (default: derived from the changes)
  --dry-run          print the migration, write nothing
  --allow-drop       emit DROP TABLE / DROP COLUMN for removed definitions (deletes data)
  --snapshot-only    record the schema as generated without writing a migration (after you wrote
                     that migration by hand)`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      schema: { type: 'string' },
      dir: { type: 'string' },
      name: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'allow-drop': { type: 'boolean' },
      'snapshot-only': { type: 'boolean' },
    })
    if (values.help) return (io.out(this.usage), 0)
    if (values.schema !== undefined && values.dir === undefined) {
      throw usageError('--dir is required with --schema (the default folder belongs to the demo app)')
    }
    if (values.name !== undefined && !/^[A-Za-z0-9_-]{1,60}$/.test(values.name)) {
      throw usageError('--name may only use letters, digits, _ and - (at most 60 characters)')
    }
    const schema = values.schema === undefined ? demoSchema : await loadSchema(values.schema)
    const dir = values.dir ?? demoMigrationsDir
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
        break
    }
    return 0
  },
}
