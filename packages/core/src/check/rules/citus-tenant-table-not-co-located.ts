import { quoteIdentifier } from '../../sql/identifier.ts'
import type { CitusTable, Finding, Relation, Rule } from '../types.ts'
import { createFinding, tenantColumnOf, tenantTables } from './finding.ts'
import { sqlString, tableName } from './fix-sql.ts'

/** The co-location group most hash-distributed tenant tables share (the tenant's shards). */
function mainGroup(tables: readonly (CitusTable | undefined)[]): number | undefined {
  const counts = new Map<number, number>()
  for (const table of tables) {
    if (table?.kind === 'distributed')
      counts.set(table.colocationId, (counts.get(table.colocationId) ?? 0) + 1)
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0]
}

function distributeSql(table: Relation, colocateWith: Relation | undefined): string {
  const colocate = colocateWith ? `, colocate_with => ${sqlString(tableName(colocateWith))}` : ''
  return `SELECT create_distributed_table(${sqlString(tableName(table))}, ${sqlString(tenantColumnOf(table))}${colocate});`
}

/**
 * Citus only: every tenant table should be hash-distributed by its tenant column, in one co-location
 * group, so that one tenant's rows of every table sit on the same shard (router queries, joins and
 * foreign keys stay on one node). A tenant table left on the coordinator holds every tenant's rows in
 * one place and does not scale; one distributed by another column or in another group turns a
 * tenant's joins into cross-shard queries. Reference tables (the tenants table) are fine.
 */
export const citusTenantTableNotCoLocated: Rule = {
  id: 'citus-tenant-table-not-co-located',
  severity: 'error',
  summary: 'Citus: a tenant table is not distributed by its tenant column in the tenant co-location group',
  check: ({ snapshot }) => {
    const citus = snapshot.citus
    if (!citus) return []
    const tables = tenantTables(snapshot).filter((table) => !table.shared && !table.isPartition)
    const group = mainGroup(tables.map((table) => citus.tables.get(table.oid)))
    const anchor = tables.find((table) => {
      const facts = citus.tables.get(table.oid)
      return facts?.kind === 'distributed' && facts.colocationId === group
    })
    const findings: Finding[] = []
    for (const table of tables) {
      const facts = citus.tables.get(table.oid)
      const column = tenantColumnOf(table)
      if (facts?.kind === 'reference') continue
      let message: string | undefined
      let fix = distributeSql(table, anchor)
      if (!facts || facts.kind === 'citus-local') {
        message = `${table.displayName} is not distributed: every tenant's rows stay on the coordinator`
      } else if (facts.distributionColumn !== column) {
        message =
          `${table.displayName} is distributed by ${facts.distributionColumn ?? '(unknown)'}, not by ${column}: ` +
          `a tenant's rows are spread over every shard and no query routes to one`
        fix = `SELECT undistribute_table(${sqlString(tableName(table))});\n${fix}`
      } else if (facts.colocationId !== group) {
        message =
          `${table.displayName} is distributed by ${column} but not co-located with the other tenant tables: ` +
          `its joins and foreign keys with them cross shards`
        fix = anchor
          ? `SELECT update_distributed_table_colocation(${sqlString(tableName(table))}, colocate_with => ${sqlString(tableName(anchor))});`
          : fix
      }
      if (message === undefined) continue
      findings.push(
        createFinding(citusTenantTableNotCoLocated, {
          table: table.displayName,
          object: quoteIdentifier(column),
          message,
          fix,
        }),
      )
    }
    return findings
  },
}
