import { qualifiedName, quoteIdentifier } from '../../sql/identifier.ts'
import { SHARED_MARKER } from '../catalog/introspect.ts'
import type { Finding, IndexInfo, Rule } from '../types.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { sqlString, tableName } from './fix-sql.ts'

/** Defaults that make a key a surrogate nobody guesses from outside: random values or a sequence. */
const randomDefault = /\b(gen_random_uuid|uuid_generate_v4|uuidv4|uuidv7|gen_random_bytes|random)\s*\(/i
const sequenceDefault = /^(identity|nextval\()/i

/**
 * Why a key is not worth an error, or null when it is a business key (e-mail, number, slug): a key
 * whose every column the database fills with a random value or a sequence reveals little (info).
 */
export function surrogateKind(index: IndexInfo): 'random' | 'sequence' | null {
  const defaults = index.keyDefaults
  if (defaults.length === 0 || defaults.some((value) => value === null)) return null
  if (defaults.every((value) => randomDefault.test(value!))) return 'random'
  if (defaults.every((value) => sequenceDefault.test(value!) || randomDefault.test(value!))) return 'sequence'
  return null
}

export const uniqueWithoutTenant: Rule = {
  id: 'unique-without-tenant',
  severity: 'error',
  summary:
    'A primary key or unique constraint/index on a tenant table leaves out the tenant column (info for random or sequence surrogate keys)',
  check: ({ snapshot }) => {
    const findings: Finding[] = []
    for (const table of tenantTables(snapshot)) {
      if (table.shared) continue
      const column = tenantColumnOf(table)
      const attnum = table.tenantColumn!.attnum
      for (const index of snapshot.indexes) {
        if (index.table !== table.oid || !index.unique || !index.valid) continue
        if (index.keyAttnums.includes(attnum)) continue
        const columns = index.keyColumns.map((name) => name ?? '(expression)')
        const kind = index.primary ? 'primary key' : index.constraint ? 'unique constraint' : 'unique index'
        const name = index.constraint ?? index.name
        const newColumns = [column, ...columns].map(quoteIdentifier)
        const surrogate = surrogateKind(index)
        const fix = index.constraint
          ? `ALTER TABLE ${tableName(table)} DROP CONSTRAINT ${quoteIdentifier(index.constraint)}, ` +
            `ADD CONSTRAINT ${quoteIdentifier(index.constraint)} ${index.primary ? 'PRIMARY KEY' : 'UNIQUE'} (${newColumns.join(', ')});\n` +
            '-- foreign keys that reference it must be recreated with the tenant column too'
          : `DROP INDEX ${qualifiedName(table.schema, index.name)};\n` +
            `${index.definition.replace(/ USING (\w+) \(/, (using) => `${using}${quoteIdentifier(column)}, `)};`
        findings.push(
          createFinding(uniqueWithoutTenant, {
            table: table.displayName,
            object: name,
            severity: surrogate ? 'info' : 'error',
            message: surrogate
              ? `${kind} ${name} (${columns.join(', ')}) does not include ${column}, but its values come from ` +
                `${surrogate === 'random' ? 'a random default' : 'a sequence or identity'}: a duplicate reveals little, ` +
                `yet Citus cannot distribute the table`
              : `${kind} ${name} (${columns.join(', ')}) does not include ${column}: a duplicate from another tenant ` +
                `fails, revealing the value exists (an existence oracle), and Citus cannot distribute the table`,
            fix: `${fix}\n-- or, if the table is shared on purpose: COMMENT ON TABLE ${tableName(table)} IS ${sqlString(SHARED_MARKER)};`,
          }),
        )
      }
    }
    return findings
  },
}
