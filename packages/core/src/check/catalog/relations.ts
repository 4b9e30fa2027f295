/** Which relations of a snapshot are tenant tables, and what the app role may do with them. */
import type { CatalogSnapshot, Command, Relation } from '../types.ts'

/**
 * The tenant tables in scope: tables with the tenant column. Partitions count only when the app role
 * holds privileges on them directly (otherwise it reaches them through the parent and its policies).
 */
export function tenantTables(snapshot: CatalogSnapshot): Relation[] {
  return snapshot.relations.filter(
    (relation) =>
      relation.tenantColumn !== null &&
      (relation.kind === 'table' || relation.kind === 'partitioned') &&
      (!relation.isPartition || grantedCommands(relation).length > 0 || relation.app.truncate),
  )
}

/** The tenant column of a tenant table (every relation `tenantTables` returns has one). */
export function tenantColumnOf(relation: Relation): string {
  return relation.tenantColumn?.name ?? ''
}

/** The DML commands the app role may run on a relation. */
export function grantedCommands(relation: Relation): Command[] {
  const commands: Command[] = []
  if (relation.app.select) commands.push('SELECT')
  if (relation.app.insert) commands.push('INSERT')
  if (relation.app.update) commands.push('UPDATE')
  if (relation.app.delete) commands.push('DELETE')
  return commands
}

export function listCommands(commands: readonly Command[]): string {
  return commands.join(', ')
}
