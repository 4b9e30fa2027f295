/**
 * Reads EXPLAIN (FORMAT JSON) output: where does the plan evaluate the tenant context? Inside an
 * InitPlan it runs once per query; anywhere else (a scan Filter, an Index or Recheck condition, a
 * correlated SubPlan) it runs per row or per scan.
 */
import { escapeRegExp } from './policy-analysis.ts'

interface PlanNode {
  readonly 'Parent Relationship'?: string
  readonly Plans?: readonly PlanNode[]
  readonly [key: string]: unknown
}

/** Patterns for the calls that read the context: `current_setting(` and the context functions. */
export function contextCallPatterns(functionNames: readonly string[]): RegExp[] {
  return [
    /(^|[^\w$])current_setting\(/i,
    ...functionNames.map((name) => new RegExp(`(^|[^\\w$])"?${escapeRegExp(name)}"?\\(`, 'i')),
  ]
}

/** The context calls the plan evaluates outside InitPlans (deduplicated, as written in the plan). */
export function perRowContextReads(explainJson: unknown, patterns: readonly RegExp[]): string[] {
  const found = new Set<string>()
  const root = Array.isArray(explainJson) ? (explainJson[0] as { Plan?: PlanNode } | undefined) : undefined
  const visit = (node: PlanNode): void => {
    if (node['Parent Relationship'] === 'InitPlan') return
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Plans') continue
      const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value : []
      for (const text of texts) {
        if (typeof text !== 'string') continue
        for (const pattern of patterns) {
          const match = pattern.exec(text)
          if (match) found.add(`${key}: ${text}`)
        }
      }
    }
    for (const child of node.Plans ?? []) visit(child)
  }
  if (root?.Plan) visit(root.Plan)
  return [...found]
}
