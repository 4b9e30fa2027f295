import { ORDERS_PER_TENANT_CAP } from '../orders.ts'
import { choiceOf, type PlanRegressionResult } from '../phases/plan-regression.ts'

export const PLAN_REGRESSION_HEADING = '## Plan regression: the default path against custom plans'

const cell = (text: string) => text.replaceAll('|', '\\|')
const ms = (value: number) => (value >= 10 ? value.toFixed(1) : value.toFixed(3))

/** The plan-regression phase as one Markdown block: what was loaded and warmed, then one row per case. */
export function planRegressionSection(result: PlanRegressionResult): string {
  const choices = result.choices
    .map((c) => `\`${c.name}\` **${c.choice}**${c.reason ? ` (${c.reason})` : ''}`)
    .join('; ')
  const changed = result.finalChoices.filter((c) => c.choice !== choiceOf(result.choices, c.name))
  const generic = Object.entries(result.genericPlan)
    .map(([name, plan]) => `\`${name}\`: \`${plan}\``)
    .join('; ')
  const lines = [
    PLAN_REGRESSION_HEADING,
    '',
    `\`orders\`, generated like \`items\` (RLS forced, floor + per-command policies), with indexes (tenant_id, created_at) ` +
      `and (tenant_id, status): ${result.orders.rows.toLocaleString('en-US')} rows for ${result.orders.tenants} tenants ` +
      `(as many as the tenant has items, at most ${ORDERS_PER_TENANT_CAP.toLocaleString('en-US')}), status 95 % 'active', ` +
      "0.05 % 'flagged', the rest 'archived'. Statements: `orders_by_status` (`WHERE tenant_id = $1 AND status = $2 " +
      "ORDER BY created_at DESC LIMIT $3`) and `list_items` (the demo's `GET /items/` statement, first page and " +
      'next page). Each ran ' +
      `${result.warmup} times named through \`queryAsTenant\` with default options first (tenants round-robin, ` +
      "'flagged' every 20th, 'archived' every 20th, a next page every 4th), so the plan advisor decided as it would " +
      `in production. The advisor chose: ${choices || 'nothing (no statement seen)'}.` +
      (changed.length
        ? ` After the measurements: ${changed.map((c) => `\`${c.name}\` ${c.choice}`).join(', ')}.`
        : ''),
    '',
    `Then per case, on one connection, request by request: **default** = the same named statement with default ` +
      "options (the advisor's choice, or PostgreSQL's plan cache when it leaves it), **custom** = the same SQL " +
      'unnamed (planned for its values every time; it also pays the parse). Median latency of each; the bench fails ' +
      `if default / custom > ${result.limit}. "plans used" counts what the named statement got while measured ` +
      `(pg_prepared_statements, generic/custom). Generic plans (EXPLAIN (GENERIC_PLAN)): ${generic || 'not available (PostgreSQL < 16)'}.`,
    '',
    '| statement | tenant | rows | params | advisor | custom plan | plans used | default ms | custom ms | default / custom | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...result.cases.map(
      (c) =>
        `| ${[
          c.statement,
          c.tenant,
          c.rows.toLocaleString('en-US'),
          c.params,
          choiceOf(result.choices, c.statement),
          c.customPlan ? `\`${c.customPlan}\`` : '?',
          `${c.genericPlans ?? '?'}/${c.customPlans ?? '?'}`,
          ms(c.defaultMs),
          ms(c.customMs),
          `${c.ratio.toFixed(2)}×`,
          c.ok ? 'ok' : 'REGRESSED',
        ]
          .map(cell)
          .join(' | ')} |`,
    ),
  ]
  return lines.join('\n')
}
