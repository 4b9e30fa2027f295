import type { HttpPhaseResult } from '../phases/http.ts'
import type { SignedHttpResult } from '../phases/signed-http.ts'
import { formatRatio, medianOfMeasured } from '../stats.ts'

const cpu = (http: HttpPhaseResult, scenario: 'baseline' | 'rowfence', concurrency: number) => {
  const runs = http.measurements.filter((m) => m.scenario === scenario && m.concurrency === concurrency)
  return {
    app: medianOfMeasured(runs.map((m) => m.cpu.appUs)),
    postgres: medianOfMeasured(runs.map((m) => m.cpu.postgresUs)),
  }
}

const us = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(0)} µs`)
const over = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? 'n/a' : `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(0)} µs`

/**
 * The demo as it runs (the signed context, since its migration 0007) against the same no-RLS baseline,
 * next to the plain context's figures from the HTTP phase at the same concurrency.
 */
export function signedHttpSection(
  signed: SignedHttpResult,
  plain: HttpPhaseResult,
  heading: string,
): string[] {
  if (signed.status === 'skipped') return [heading, `Skipped: ${signed.reason}.`]
  const c = signed.concurrency
  const signedRatio = signed.http.ratios.find((r) => r.concurrency === c)!
  const plainRatio = plain.ratios.find((r) => r.concurrency === c)
  const [signedCpu, plainCpu] = [cpu(signed.http, 'rowfence', c), cpu(plain, 'rowfence', c)]
  const [signedBase, plainBase] = [cpu(signed.http, 'baseline', c), cpu(plain, 'baseline', c)]
  const row = (name: string, values: string[]) => `| ${[name, ...values].join(' | ')} |`
  return [
    heading,
    `The demo runs the signed context (docs/signed-context.md). Measured last: the bench migrates its ` +
      `database on to it (the demo's migration 0007), installs a key and restarts the demo servers signing ` +
      `with it, then runs the three scenarios again at ${c} connections (same JSON checked for ` +
      `${signed.http.jsonChecked} tenants; the naive route signs too). The baseline sets no context, so ` +
      '`rowfence / baseline` is what the demo as it runs costs over no isolation. The plain column repeats ' +
      'the HTTP phase above (taken minutes earlier, so compare the ratios, not the absolute figures).',
    [
      row('', ['signed context (the demo)', 'plain context']),
      row('---', ['---', '---']),
      row('rowfence / baseline throughput', [
        formatRatio(signedRatio.throughput.rowfence),
        plainRatio ? formatRatio(plainRatio.throughput.rowfence) : 'n/a',
      ]),
      row('rowfence / baseline p99', [
        formatRatio(signedRatio.p99.rowfence),
        plainRatio ? formatRatio(plainRatio.p99.rowfence) : 'n/a',
      ]),
      row('server CPU per request over baseline', [
        over(signedCpu.app, signedBase.app),
        over(plainCpu.app, plainBase.app),
      ]),
      row('PostgreSQL CPU per request over baseline', [
        over(signedCpu.postgres, signedBase.postgres),
        over(plainCpu.postgres, plainBase.postgres),
      ]),
      row('PostgreSQL CPU per request, rowfence', [us(signedCpu.postgres), us(plainCpu.postgres)]),
    ].join('\n'),
  ]
}
