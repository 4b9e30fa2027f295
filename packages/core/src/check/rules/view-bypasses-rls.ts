import { quoteIdentifier } from '../../sql/identifier.ts'
import { createFinding } from './finding.ts'
import { tableName } from './fix-sql.ts'
import type { CatalogSnapshot, Finding, Rule } from '../types.ts'

/** Tenant tables each view reads, following views over views. */
function tenantTablesBehindViews(snapshot: CatalogSnapshot): Map<number, Set<string>> {
  const edges = new Map<number, typeof snapshot.viewDependencies>()
  for (const dependency of snapshot.viewDependencies) {
    edges.set(dependency.view, [...(edges.get(dependency.view) ?? []), dependency])
  }
  const memo = new Map<number, Set<string>>()
  const visit = (view: number, seen: Set<number>): Set<string> => {
    const known = memo.get(view)
    if (known) return known
    const found = new Set<string>()
    for (const dependency of edges.get(view) ?? []) {
      if (dependency.referencedIsTenantTable) found.add(dependency.referencedDisplayName)
      if (edges.has(dependency.referenced) && !seen.has(dependency.referenced)) {
        for (const name of visit(dependency.referenced, new Set([...seen, view]))) found.add(name)
      }
    }
    memo.set(view, found)
    return found
  }
  for (const view of edges.keys()) visit(view, new Set([view]))
  return memo
}

export const viewBypassesRls: Rule = {
  id: 'view-bypasses-rls',
  severity: 'error',
  summary:
    "A view over tenant tables runs with its owner's rights (no security_invoker) and the app can select it",
  check: ({ snapshot }) => {
    const behind = tenantTablesBehindViews(snapshot)
    const invokerSupported = snapshot.serverVersionNum >= 150000
    const app = quoteIdentifier(snapshot.app.name)
    const findings: Finding[] = []
    for (const view of snapshot.relations) {
      if ((view.kind !== 'view' && view.kind !== 'materialized-view') || !view.app.select) continue
      const tables = [...(behind.get(view.oid) ?? [])]
      if (tables.length === 0) continue
      if (view.kind === 'view' && invokerSupported && view.securityInvoker) continue
      // The owner is itself held by RLS on every table behind the view: it returns the caller's tenant.
      const heldByRls = (name: string): boolean => {
        const table = snapshot.relations.find((relation) => relation.displayName === name)
        return !!table && table.rlsEnabled && (table.rlsForced || table.owner !== view.owner)
      }
      if (view.kind === 'view' && !view.ownerBypassesRls && tables.every(heldByRls)) continue
      const listed = tables.slice(0, 3).join(', ') + (tables.length > 3 ? ', …' : '')
      findings.push(
        view.kind === 'materialized-view'
          ? createFinding(viewBypassesRls, {
              table: view.displayName,
              message: `materialized view over tenant tables (${listed}) holds every tenant's rows and RLS does not apply to it; ${snapshot.app.name} can select it`,
              fix: `REVOKE SELECT ON ${tableName(view)} FROM ${app}, PUBLIC;`,
            })
          : createFinding(viewBypassesRls, {
              table: view.displayName,
              message:
                `view over tenant tables (${listed}) checks RLS as its owner "${view.owner}", not as ${snapshot.app.name}` +
                (invokerSupported ? ' (no security_invoker)' : ' (PostgreSQL < 15 has no security_invoker)'),
              fix: invokerSupported
                ? `ALTER VIEW ${tableName(view)} SET (security_invoker = true);`
                : `REVOKE SELECT ON ${tableName(view)} FROM ${app}, PUBLIC;`,
            }),
      )
    }
    return findings
  },
}
