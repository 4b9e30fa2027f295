import { NETWORKS, ORMS, VARIANTS, type OrmPhaseResult } from '../phases/orm.ts'
import type { TargetResult } from '../results.ts'
import { formatRatio } from '../stats.ts'

export const ORM_VS_RECIPE = 2
export const ORM_VS_NO_RLS = 0.9
export const ORM_SECTION_START = '<!-- orm-phase:start -->'
export const ORM_SECTION_END = '<!-- orm-phase:end -->'

const networkLabel = (network: string, delayMs: number) =>
  network === 'proxy' ? `${delayMs} ms proxy` : network

/** The ORM phase as one Markdown block between markers (`npm run bench:orm` replaces just this block). */
export function ormSection(orm: OrmPhaseResult, heading: string): string {
  const lines = [
    ORM_SECTION_START,
    heading,
    '',
    `${orm.callers} callers, pool of ${orm.pool}, ${orm.rounds} interleaved round(s) of ${orm.seconds} s per variant ` +
      `after a warm-up; each operation lists one of ${orm.tenants} tenants' ${orm.items} items through the ORM. ` +
      "**no RLS**: the same ORM on a copy of the table without RLS, tenant in WHERE. **recipe**: the ORM's documented " +
      'RLS recipe (its transaction API with `set_config` by hand: BEGIN, set_config, query, COMMIT). **rowfence**: ' +
      'the adapter inside `asTenant()` (set_config + the statement in one Sync group). Ratios are taken round by round, ' +
      'median (min–max).',
    '',
    '| ORM | network | no RLS ops/s | recipe ops/s | rowfence ops/s | rowfence / recipe | rowfence / no RLS |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const name of ORMS) {
    for (const network of NETWORKS) {
      const [noRls, recipe, rowfence] = VARIANTS.map(
        (variant) =>
          orm.throughput.find((t) => t.orm === name && t.network === network && t.variant === variant)!
            .perSecond.median,
      )
      const ratio = orm.ratios.find((r) => r.orm === name && r.network === network)!
      lines.push(
        `| ${name} | ${networkLabel(network, orm.delayMs)} | ${noRls!.toFixed(0)} | ${recipe!.toFixed(0)} | ` +
          `${rowfence!.toFixed(0)} | ${formatRatio(ratio.vsRecipe)} | ${formatRatio(ratio.vsNoRls)} |`,
      )
    }
  }
  lines.push(
    '',
    'Round trips of one operation on the wire (ReadyForQuery messages on a one-connection pool): ' +
      orm.roundTrips.map((t) => `${t.orm} rowfence ${t.rowfence}, recipe ${t.recipe}`).join('; ') +
      '.',
    ORM_SECTION_END,
  )
  return lines.join('\n')
}

/** Issue 12's targets: ≥ 2× the recipe behind the proxy, ≥ 0.90× no RLS on loopback (issue 17 raised it from 0.85×), 1 round trip. */
export function ormTargets(orm: OrmPhaseResult): TargetResult[] {
  const targets: TargetResult[] = []
  for (const name of ORMS) {
    const proxy = orm.ratios.find((r) => r.orm === name && r.network === 'proxy')!
    const loopback = orm.ratios.find((r) => r.orm === name && r.network === 'loopback')!
    targets.push({
      name: `ORM ${name}: vs recipe`,
      target: `adapter ≥ ${ORM_VS_RECIPE}× the ${name} RLS recipe behind the ${orm.delayMs} ms proxy, ${orm.callers} callers`,
      measured: formatRatio(proxy.vsRecipe),
      met: proxy.vsRecipe.median >= ORM_VS_RECIPE,
    })
    targets.push({
      name: `ORM ${name}: vs no RLS`,
      target: `adapter ≥ ${ORM_VS_NO_RLS}× ${name} without RLS on loopback, ${orm.callers} callers`,
      measured: formatRatio(loopback.vsNoRls),
      met: loopback.vsNoRls.median >= ORM_VS_NO_RLS,
    })
  }
  targets.push({
    name: 'ORM round trips',
    target: 'one adapter statement inside asTenant = 1 round trip',
    measured: orm.roundTrips.map((t) => `${t.orm} ${t.rowfence}`).join(', '),
    met: orm.roundTrips.every((t) => t.rowfence === 1),
  })
  return targets
}
