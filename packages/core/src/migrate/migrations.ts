import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RowfenceError } from '../errors.ts'

export interface Migration {
  /** The file name without `.sql`, e.g. `0001_init`; its number orders it. */
  readonly id: string
  readonly sql: string
  /** sha256 of the SQL with line endings normalized. */
  readonly checksum: string
}

const migrationFile = /^(\d+)_[A-Za-z0-9_.-]+\.sql$/

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replaceAll('\r\n', '\n')).digest('hex')
}

export function migrationFrom(id: string, sql: string): Migration {
  return { id, sql, checksum: checksumOf(sql) }
}

/** Reads `NNNN_name.sql` files from a folder, ordered by number. Two files with one number is an error. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (cause) {
    throw new RowfenceError('ROWFENCE_MIGRATION_INVALID', {
      message: `Cannot read the migrations folder ${dir}`,
      cause,
      details: { dir },
    })
  }
  const files = names
    .map((name) => ({ name, match: migrationFile.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map((entry) => ({ name: entry.name, number: Number(entry.match[1]) }))
    .sort((a, b) => a.number - b.number)
  for (let i = 1; i < files.length; i++) {
    if (files[i]?.number === files[i - 1]?.number) {
      throw new RowfenceError('ROWFENCE_MIGRATION_INVALID', {
        message: `Two migrations share the number ${files[i]?.number}: ${files[i - 1]?.name} and ${files[i]?.name}`,
        details: { dir },
      })
    }
  }
  return Promise.all(
    files.map(async ({ name }) => migrationFrom(name.slice(0, -4), await readFile(join(dir, name), 'utf8'))),
  )
}
