import { qualifiedName } from '../sql/identifier.ts'
import { quoteLiteral } from '../sql/literal.ts'
import { customContextStatement, type NormalizedContext, type PlanCacheMode } from './context-config.ts'
import type { BatchStatement } from './pipelined-batch.ts'
import { TENANT_SETTING, USER_SETTING } from './tenant-context.ts'

/**
 * How the context reaches the server.
 * - `set-config` (default): one `SELECT set_config(name, $n, true), ...` with the values as bind parameters.
 * - `set-local`: one `SET LOCAL name = '<validated, quoted value>'` per setting, inside an explicit
 *   transaction. Citus forwards `SET LOCAL` (with `citus.propagate_set_commands = 'local'` for the app role)
 *   to the worker connections of the transaction, never `set_config()`; see docs/citus.md.
 */
export type ContextMode = 'set-config' | 'set-local'

export interface ContextModeOptions {
  /** `set-local` for Citus (see ContextMode). Default `set-config`. */
  readonly contextMode?: ContextMode | undefined
}

/** How the context statements are rendered for one unit of work. */
export interface ContextRendering {
  readonly mode: ContextMode
  readonly pooler: boolean
  readonly genericPlan: boolean | undefined
  /** Custom plans for the rest of the transaction (the plan advisor found that the values matter). */
  readonly customPlan?: boolean | undefined
}

/** Sets both settings transaction-locally; values are bind parameters, never SQL text. */
const setContextStatement = {
  name: 'rowfence_set_context',
  text: `SELECT set_config('${TENANT_SETTING}', $1, true), set_config('${USER_SETTING}', $2, true)`,
} as const

/** The same, plus custom plans for the rest of the (implicit or explicit) transaction. */
const setContextCustomStatement = {
  name: 'rowfence_set_context_custom',
  text: `${setContextStatement.text}, set_config('plan_cache_mode', 'force_custom_plan', true)`,
} as const

/** The same, plus generic plans for the rest of the (implicit or explicit) transaction. */
const setContextGenericStatement = {
  name: 'rowfence_set_context_generic',
  text: `${setContextStatement.text}, set_config('plan_cache_mode', 'force_generic_plan', true)`,
} as const

/** The settings of a context in order, tenant first. */
function settingPairs(settings: NormalizedContext): readonly (readonly [string, string])[] {
  return (
    settings.settings ?? [
      [TENANT_SETTING, settings.tenantId],
      [USER_SETTING, settings.userId],
    ]
  )
}

/**
 * `SET LOCAL` statements for the context: the setting names are validated custom names
 * (defineContextConfig, or the built-in ones), quoted part by part (so `app.user` works too), the values
 * are validated by normalizeContextWith and
 * quoted by quoteLiteral (SET takes no bind parameters). Unnamed: each carries a tenant's value, so a
 * prepared statement per value would only fill the connection's statement cache.
 */
function setLocalStatements(settings: NormalizedContext, plan: PlanCacheMode | undefined): BatchStatement[] {
  const statements: BatchStatement[] = settingPairs(settings).map(([name, value]) => ({
    text: `SET LOCAL ${qualifiedName(...name.split('.'))} = ${quoteLiteral(value)}`,
  }))
  if (plan) statements.push({ text: `SET LOCAL plan_cache_mode = force_${plan}_plan` })
  return statements
}

/** The statements that set the context of a unit of work (one for set-config, one per setting for set-local). */
export function contextStatements(
  settings: NormalizedContext,
  rendering: ContextRendering,
): BatchStatement[] {
  const plan = planCacheMode(rendering)
  if (rendering.mode === 'set-local') return [...setLocalStatements(settings, plan)]
  // Nothing reads what set_config() returns: no Describe, rows dropped unparsed.
  if (settings.settings) {
    const custom = customContextStatement(settings.settings, plan)
    return [
      rendering.pooler
        ? { text: custom.text, values: custom.values, discardRows: true }
        : { name: custom.name, text: custom.text, values: custom.values, discardRows: true },
    ]
  }
  const values = [settings.tenantId, settings.userId]
  if (rendering.pooler) return [{ text: setContextStatement.text, values, discardRows: true }]
  const named =
    plan === 'generic'
      ? setContextGenericStatement
      : plan === 'custom'
        ? setContextCustomStatement
        : setContextStatement
  // Spelled out, not `{ ...named, values, ... }`: on the hot path, V8 (Node 20) takes a slow path of
  // about 2 µs for a spread that adds properties its source does not have.
  return [{ name: named.name, text: named.text, values, discardRows: true }]
}

/** The plan_cache_mode a rendering asks for: none in pooler mode (unnamed statements are planned anyway). */
function planCacheMode(rendering: ContextRendering): PlanCacheMode | undefined {
  if (rendering.pooler) return undefined
  if (rendering.genericPlan) return 'generic'
  if (rendering.customPlan) return 'custom'
  return undefined
}

/** Whether the mode needs an explicit transaction block around the context (set-local does). */
export function needsTransactionBlock(mode: ContextMode): boolean {
  return mode === 'set-local'
}

/** Validates a ContextMode option; undefined is the default. */
export function contextModeOf(options: ContextModeOptions | undefined): ContextMode {
  const mode = options?.contextMode ?? 'set-config'
  if (mode !== 'set-config' && mode !== 'set-local') {
    throw new TypeError(`Unknown context mode: ${String(mode)} ("set-config" or "set-local")`)
  }
  return mode
}

/**
 * The batch of a single-statement unit of work (queryAsTenant): with set-config, the context and the
 * statement in one Sync group (one implicit transaction); with set-local, BEGIN + SET LOCALs + the
 * statement + COMMIT, still one write and one round trip. `index` is the statement's result.
 */
export function singleStatementBatch(
  settings: NormalizedContext,
  statement: BatchStatement,
  rendering: ContextRendering,
): { statements: BatchStatement[]; index: number; transactionBlock: boolean } {
  const context = contextStatements(settings, rendering)
  if (!needsTransactionBlock(rendering.mode)) {
    return { statements: [...context, statement], index: context.length, transactionBlock: false }
  }
  return {
    statements: [{ text: 'BEGIN' }, ...context, statement, { text: 'COMMIT' }],
    index: context.length + 1,
    transactionBlock: true,
  }
}
