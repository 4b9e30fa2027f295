import { createHash } from 'node:crypto'
import type { CatalogSnapshot, Command, Finding, Relation, Rule } from './types.ts'

/** Rule id + table + object: what a finding is about, never how it is worded or any OID. */
export function fingerprintOf(ruleId: string, table: string | null, object: string | null): string {
  return createHash('sha256')
    .update(`${ruleId}\u0000${table ?? ''}\u0000${object ?? ''}`)
    .digest('hex')
    .slice(0, 20)
}

export function createFinding(
  rule: Pick<Rule, 'id' | 'severity'>,
  details: { table: string | null; object?: string | null; message: string; fix: string },
): Finding {
  const object = details.object ?? null
  return {
    ruleId: rule.id,
    severity: rule.severity,
    table: details.table,
    object,
    message: details.message,
    fix: details.fix,
    fingerprint: fingerprintOf(rule.id, details.table, object),
  }
}

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
