import type { PoolClient, QueryResult } from 'pg'
import { PipelinedBatch, type BatchStatement } from './pipelined-batch.ts'

/**
 * How a named statement is planned inside a tenant context.
 * - `learning`: PostgreSQL's default (a custom plan per execution) while samples are taken;
 * - `generic`: the cached generic plan (`plan_cache_mode = force_generic_plan` for that statement);
 * - `custom`: a custom plan per execution, for good (a sample showed the parameter values matter).
 */
export type PlanChoice = 'learning' | 'generic' | 'custom'

/** What the plan advisor knows about one named statement (see planChoices()). */
export interface PlanChoiceReport {
  readonly name: string
  readonly choice: PlanChoice
  /** Executions seen in this process (on the server the statement was sampled on). */
  readonly executions: number
  /** Samples whose custom plan was the generic plan. */
  readonly agreeingSamples: number
  /** Why the statement stays on custom plans, when it does. */
  readonly reason: string | undefined
}

/** A decision after this many agreeing samples taken with distinct parameter values. */
export const SAMPLES_TO_DECIDE = 5
/** After that, one more sample every this many executions, so a later skew still switches back. */
export const RESAMPLE_EVERY = 256
/** A statement that has not met SAMPLES_TO_DECIDE distinct values after this many executions decides on what it has. */
const LEARNING_LIMIT = 64

interface Entry {
  readonly name: string
  readonly text: string
  executions: number
  choice: PlanChoice
  agreeing: number
  readonly seen: Set<string>
  genericShape: string | undefined
  /** The generic plan only walks an index in order (see streamsFromIndex). */
  genericStreams: boolean
  /** A decision for custom plans that rowfence enforces (force_custom_plan), not PostgreSQL's own choice. */
  force: boolean
  sampling: boolean
  lastSample: number
  reason: string | undefined
}

/** What to do with one execution. */
export interface PlanAdvice {
  /** `generic`: the cached generic plan; `custom`: a custom plan for every execution; undefined: PostgreSQL's choice. */
  readonly plan: 'generic' | 'custom' | undefined
  /** Take a sample after it (see PlanAdvisor.sample); pass this advice back. */
  readonly sample: boolean
  /** @internal */
  readonly entry: Entry
  /** @internal */
  readonly valuesKey: string
}

/** The statement shapes compared: node, relation, index, join and scan direction, plus the index conditions. */
const SHAPE_KEYS = [
  'Node Type',
  'Parent Relationship',
  'Relation Name',
  'Index Name',
  'Join Type',
  'Strategy',
  'Scan Direction',
  'Index Cond',
  'Recheck Cond',
  'Hash Cond',
  'Merge Cond',
] as const

/**
 * Parameters and literals both become `?` in conditions: a custom plan shows the value where the generic
 * plan shows `$n`, and what matters is which conditions the index (or join) takes, not their values.
 */
function normalizeCondition(condition: string): string {
  return condition
    .replace(/'(?:[^']|'')*'(?:::[^),]+)?/g, '?')
    .replace(/(?:\(\$\d+\)|\$\d+)(?:::[^),]+)?/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
}

interface PlanNode {
  readonly [key: string]: unknown
  readonly Plans?: readonly PlanNode[]
}

/**
 * The part of an EXPLAIN (FORMAT JSON) plan that decides its cost: the tree of scans, joins and their
 * index conditions. Result nodes (projections, one-time filters the planner folds differently for
 * constants) and InitPlans (the context functions) are left out; filters are left out too: they cost CPU
 * per row, never a different access path.
 */
export function planShape(plan: PlanNode): string {
  const parts: string[] = []
  const walk = (node: PlanNode, depth: number): void => {
    if (node['Parent Relationship'] === 'InitPlan') return
    let next = depth
    if (node['Node Type'] !== 'Result') {
      const fields = SHAPE_KEYS.flatMap((key) => {
        const value = node[key]
        if (value === undefined || key === 'Parent Relationship') return []
        return [`${key}=${key.endsWith('Cond') ? normalizeCondition(String(value)) : String(value)}`]
      })
      parts.push(`${depth}:${fields.join(';')}`)
      next = depth + 1
    }
    for (const child of node.Plans ?? []) walk(child, next)
  }
  walk(plan, 0)
  return parts.join('\n')
}

/**
 * Whether a plan is an ordered walk of one index and nothing else: Limit / Result over Index Scan or
 * Index Only Scan with an index condition, no Sort, no join, no other scan (InitPlans aside).
 */
function streamsFromIndex(plan: PlanNode): boolean {
  let ok = true
  let scans = 0
  const walk = (node: PlanNode): void => {
    if (!ok || node['Parent Relationship'] === 'InitPlan') return
    const type = node['Node Type']
    if (type === 'Index Scan' || type === 'Index Only Scan') {
      scans += 1
      if (node['Index Cond'] === undefined) ok = false
    } else if (type !== 'Limit' && type !== 'Result') {
      ok = false
    }
    for (const child of node.Plans ?? []) walk(child)
  }
  walk(plan)
  return ok && scans === 1
}

/**
 * The first Filter (or Join Filter) of the generic plan that holds a parameter: how many rows that plan reads
 * then depends on the value, which the sampled values may not show (a status that is 0.05% of the rows).
 */
function parameterFilter(plan: PlanNode): string | undefined {
  let found: string | undefined
  const walk = (node: PlanNode): void => {
    if (found !== undefined || node['Parent Relationship'] === 'InitPlan') return
    for (const key of ['Filter', 'Join Filter']) {
      const value = node[key]
      if (typeof value === 'string' && /\$\d/.test(value)) {
        found = `${key}: ${value}`
        return
      }
    }
    for (const child of node.Plans ?? []) walk(child)
  }
  walk(plan)
  return found
}

/** The first line where two plan shapes differ, for the report. */
function firstDifference(custom: string, generic: string): string {
  const [a, b] = [custom.split('\n'), generic.split('\n')]
  const index = a.findIndex((line, i) => line !== b[i])
  const at = index === -1 ? a.length : index
  return `custom: ${a[at] ?? '(end)'}; generic: ${b[at] ?? '(end)'}`
}

function planOf(result: QueryResult | undefined): PlanNode {
  const cell = (result?.rows[0] as Record<string, unknown> | undefined)?.['QUERY PLAN']
  const parsed = (typeof cell === 'string' ? JSON.parse(cell) : cell) as { Plan: PlanNode }[]
  return parsed[0]!.Plan
}

function valuesKey(values: readonly unknown[]): string {
  try {
    return JSON.stringify(values, (_key, value: unknown) =>
      typeof value === 'bigint'
        ? `${value}n`
        : value instanceof Uint8Array
          ? Buffer.from(value).toString('hex')
          : value,
    )
  } catch {
    return String(Math.random())
  }
}

/**
 * Decides per named statement whether the cached generic plan may be used. PostgreSQL re-plans a named
 * statement on every execution whenever its cost model estimates the generic plan dearer than custom
 * ones, which it does for most list queries (`LIMIT $n`, optional filters); planning the RLS policies is
 * then most of what isolation costs. The advisor asks PostgreSQL instead: after an execution it explains
 * the statement with that execution's values (a custom plan) and once without values (`EXPLAIN
 * (GENERIC_PLAN)`, PostgreSQL 16+), in a Sync group of its own on the same connection and tenant context.
 * When the custom plans of SAMPLES_TO_DECIDE distinct parameter sets all have the generic plan's shape
 * (same scans, indexes, joins and index conditions), the statement switches to the generic plan; one
 * sample that differs (a skewed value, a partial index, a range the index can take) keeps it on custom
 * plans for good. Decisions live in this process, per statement name (and text).
 */
export class PlanAdvisor {
  readonly #entries = new Map<string, Entry>()
  #enabled = true

  get enabled(): boolean {
    return this.#enabled
  }

  set enabled(value: boolean) {
    this.#enabled = value
  }

  /** Forgets every decision (tests, or after a schema change in a long-running process). */
  reset(): void {
    this.#entries.clear()
  }

  report(): PlanChoiceReport[] {
    return [...this.#entries.values()].map((entry) => ({
      name: entry.name,
      choice: entry.choice,
      executions: entry.executions,
      agreeingSamples: entry.agreeing,
      reason: entry.reason,
    }))
  }

  /**
   * The advice for one execution of `statement` on `client`, or undefined when the advisor has no say:
   * disabled, an unnamed statement (planned on every execution anyway), one without parameters
   * (PostgreSQL always caches those), or a server without EXPLAIN (GENERIC_PLAN).
   */
  advise(statement: BatchStatement): PlanAdvice | undefined {
    if (!this.#enabled || statement.name === undefined || !statement.values?.length) return undefined
    let entry = this.#entries.get(statement.name)
    if (entry?.text !== statement.text) {
      // A new statement, or a name reused for another text (node-postgres re-parses it): start over.
      entry = {
        name: statement.name,
        text: statement.text,
        executions: 0,
        choice: 'learning',
        agreeing: 0,
        seen: new Set(),
        genericShape: undefined,
        genericStreams: false,
        force: false,
        sampling: false,
        lastSample: 0,
        reason: undefined,
      }
      this.#entries.set(statement.name, entry)
    }
    entry.executions += 1
    let sample = false
    let values = ''
    if (!entry.sampling) {
      if (entry.choice === 'learning') {
        values = valuesKey(statement.values)
        sample = !entry.seen.has(values)
      } else if (entry.choice === 'generic') {
        sample = entry.executions - entry.lastSample >= RESAMPLE_EVERY
      }
    }
    if (sample) entry.sampling = true
    if (entry.choice === 'learning' && entry.executions >= LEARNING_LIMIT && !entry.sampling) {
      this.#decide(entry)
    }
    const plan =
      entry.choice === 'generic' ? 'generic' : entry.choice === 'custom' && entry.force ? 'custom' : undefined
    return { plan, sample, entry, valuesKey: values }
  }

  /** The sample was not taken (the unit of work rolled back): another execution may take it. */
  skip(advice: PlanAdvice): void {
    if (advice.sample) advice.entry.sampling = false
  }

  /**
   * Takes the sample `advice` asked for, on `client` (free: between units of work), with `context` (the
   * statements that set the same tenant context). Never throws: a failure keeps the statement on custom plans.
   */
  async sample(
    client: PoolClient,
    statement: BatchStatement,
    context: readonly BatchStatement[],
    advice: PlanAdvice,
  ): Promise<void> {
    if (!advice.sample) return
    const { entry } = advice
    const needGeneric = entry.genericShape === undefined
    try {
      if (needGeneric) {
        // Once per statement. The simple protocol: with the extended one the $n would need values, and
        // values make it a custom plan. No context needed: a generic plan does not depend on its value.
        const generic = planOf(
          await client.query(`EXPLAIN (GENERIC_PLAN, FORMAT JSON, COSTS OFF) ${statement.text}`),
        )
        entry.genericShape = planShape(generic)
        entry.genericStreams = streamsFromIndex(generic)
        const filter = parameterFilter(generic)
        if (filter !== undefined) {
          this.#keepCustom(entry, `a parameter only filters rows in the generic plan (${filter})`)
          return
        }
      }
      const results = await PipelinedBatch.run(client, [
        ...context,
        { text: `EXPLAIN (FORMAT JSON, COSTS OFF) ${statement.text}`, values: statement.values },
      ])
      const plan = planOf(results[context.length])
      const custom = planShape(plan)
      entry.seen.add(advice.valuesKey)
      entry.lastSample = entry.executions
      // A generic plan that only walks an index in order, every parameter in its index conditions, reads
      // at most the rows any plan for these values must read, and stops at the LIMIT: a custom plan that
      // differs (a Sort over a Bitmap scan for a mid-size tenant, say) cannot be much cheaper.
      if (custom !== entry.genericShape && !entry.genericStreams) {
        this.#keepCustom(
          entry,
          `a custom plan differed from the generic plan for some parameter values (${firstDifference(custom, entry.genericShape ?? '')})`,
        )
      } else {
        entry.agreeing += 1
        if (entry.choice === 'learning' && entry.agreeing >= SAMPLES_TO_DECIDE) this.#decide(entry)
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code
      // A lost connection says nothing about the plans: a later execution samples again.
      if (typeof code !== 'string' || code.startsWith('08') || code.startsWith('57')) return
      entry.choice = 'custom'
      // A server before PostgreSQL 16 has no EXPLAIN (GENERIC_PLAN): 42601 (the option), 42P02 (the $n) or
      // 22023. PostgreSQL's own choice, as before.
      entry.reason =
        needGeneric && (code === '42601' || code === '42P02' || code === '22023')
          ? 'the server has no EXPLAIN (GENERIC_PLAN) (PostgreSQL 16+)'
          : `the plans could not be compared (${code})`
    } finally {
      entry.sampling = false
    }
  }

  #keepCustom(entry: Entry, reason: string): void {
    entry.choice = 'custom'
    entry.force = true
    entry.reason = reason
  }

  #decide(entry: Entry): void {
    if (entry.choice !== 'learning') return
    if (entry.agreeing > 0) entry.choice = 'generic'
    else {
      entry.choice = 'custom'
      entry.reason ??= 'no sample could be taken'
    }
  }
}

/** The process-wide advisor queryAsTenant, withTenant and the middleware use. */
export const planAdvisor = new PlanAdvisor()

/** What the plan advisor decided per named statement so far (diagnostics, the bench). */
export function planChoices(): PlanChoiceReport[] {
  return planAdvisor.report()
}

/**
 * Turns the plan advisor off (`false`: named statements get PostgreSQL's default plan choice, as before
 * 0.x) or on again. Per statement, `genericPlan: true | false` always wins over the advisor.
 */
export function setPlanAdvisor(enabled: boolean): void {
  planAdvisor.enabled = enabled
}
