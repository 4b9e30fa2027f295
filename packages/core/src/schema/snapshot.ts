import { readFile, rename, writeFile } from 'node:fs/promises'
import { RowfenceError } from '../errors.ts'
import { SCHEMA_MODEL_VERSION, type SchemaModel } from './model.ts'
import { contextModel } from './rowfence-schema.ts'

/** The schema as last generated, committed next to the migrations it produced. */
export interface SchemaSnapshot {
  /** The migration that brought the database to this schema (null: recorded without a migration). */
  readonly migration: string | null
  readonly schema: SchemaModel
}

export const SNAPSHOT_FILE = '.rowfence-schema.json'

const NOTE =
  'Written by `rowfence generate`: the schema as of the migration below. Commit it; do not edit it by hand.'

const invalid = (file: string, why: string, cause?: unknown): RowfenceError =>
  new RowfenceError('ROWFENCE_SCHEMA_SNAPSHOT_INVALID', {
    message: `${file} is not a valid rowfence schema snapshot: ${why}`,
    cause,
    details: { file },
  })

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const arrayOf = (value: unknown, check: (item: unknown) => boolean): boolean =>
  Array.isArray(value) && value.every(check)

const named = (item: unknown): boolean => isObject(item) && typeof item['name'] === 'string'

/** A shape check of what the compiler and diff read; values themselves are re-validated when rendered. */
function checkModel(schema: unknown): string | null {
  if (!isObject(schema)) return 'no schema object'
  if (schema['version'] !== SCHEMA_MODEL_VERSION)
    return `version ${String(schema['version'])} is not ${SCHEMA_MODEL_VERSION}`
  if (schema['flavour'] !== 'postgres' && schema['flavour'] !== 'citus') return 'unknown flavour'
  if (typeof schema['appRole'] !== 'string') return 'no appRole'
  if (schema['context'] !== undefined && !isObject(schema['context'])) return 'an invalid context'
  if (!Array.isArray(schema['tables'])) return 'no tables'
  for (const table of schema['tables']) {
    if (!named(table)) return 'a table without a name'
    const t = table as Record<string, unknown>
    const label = `table ${JSON.stringify(t['name'])}`
    if (t['kind'] !== 'tenant' && t['kind'] !== 'tenants') return `${label} has an unknown kind`
    if (typeof t['tenantColumn'] !== 'string') return `${label} has no tenantColumn`
    if (!named(t['primaryKey'])) return `${label} has no primary key`
    for (const key of ['columns', 'uniques', 'checks', 'foreignKeys', 'indexes', 'policies'] as const) {
      if (!arrayOf(t[key], named)) return `${label} has invalid ${key}`
    }
    if (!arrayOf(t['grants'], (grant) => typeof grant === 'string')) return `${label} has invalid grants`
    if (t['distribution'] !== null && !isObject(t['distribution']))
      return `${label} has an invalid distribution`
  }
  return null
}

/** Reads the snapshot; null when the file does not exist (nothing generated yet). */
export async function readSnapshot(file: string): Promise<SchemaSnapshot | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw invalid(file, 'it cannot be read', error)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw invalid(file, 'it is not JSON', error)
  }
  if (!isObject(parsed)) throw invalid(file, 'it is not an object')
  const migration = parsed['migration']
  if (migration !== null && typeof migration !== 'string') throw invalid(file, 'no migration id')
  const problem = checkModel(parsed['schema'])
  if (problem) throw invalid(file, problem)
  const schema = parsed['schema'] as Omit<SchemaModel, 'context' | 'signUp'> & {
    context?: unknown
    signUp?: unknown
  }
  // Snapshots written before the context was configurable have none, and those written before the
  // signed context existed say nothing of it: theirs was the plain context.
  let context
  try {
    context = contextModel(schema.context as Parameters<typeof contextModel>[0], false)
  } catch (error) {
    throw invalid(file, 'an invalid context', error)
  }
  if (schema.signUp !== undefined && schema.signUp !== null && !isObject(schema.signUp)) {
    throw invalid(file, 'an invalid signUp')
  }
  return {
    migration,
    schema: { ...schema, context, signUp: (schema.signUp as SchemaModel['signUp']) ?? null },
  }
}

export function serializeSnapshot(snapshot: SchemaSnapshot): string {
  return (
    JSON.stringify({ note: NOTE, migration: snapshot.migration, schema: snapshot.schema }, null, 2) + '\n'
  )
}

/** Writes through a temporary file and a rename, so a crash never leaves half a snapshot. */
export async function writeSnapshot(file: string, snapshot: SchemaSnapshot): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, serializeSnapshot(snapshot))
  await rename(temporary, file)
}
