import type { BenchResults } from '../results.ts'
import { SCENARIOS } from '../scenarios.ts'
import { median } from '../stats.ts'
import { renderChart, type ChartSpec } from './chart.ts'

const COLORS = { baseline: '#9aa0a6', rowfence: '#1a73e8', naive: '#e8710a' } as const

/** Throughput and p99 per scenario (bars) and concurrency (columns), ratios to baseline under the bars. */
export function benchChart(results: BenchResults): string {
  const { http, options } = results
  const figure = (c: number, scenario: (typeof SCENARIOS)[number], metric: 'rps' | 'p99') => {
    const runs = http.measurements.filter((m) => m.concurrency === c && m.scenario === scenario)
    if (runs.length === 0) return undefined
    return median(runs.map((m) => (metric === 'rps' ? m.result.requestsPerSecond : m.result.latency.p99)))
  }
  const range = (c: number, scenario: (typeof SCENARIOS)[number], metric: 'rps' | 'p99') => {
    const values = http.measurements
      .filter((m) => m.concurrency === c && m.scenario === scenario)
      .map((m) => (metric === 'rps' ? m.result.requestsPerSecond : m.result.latency.p99))
    return values.length > 1 ? ([Math.min(...values), Math.max(...values)] as const) : undefined
  }
  const ratioNotes = (c: number, metric: 'throughput' | 'p99') => {
    const ratios = http.ratios.find((r) => r.concurrency === c)
    return SCENARIOS.map((s) =>
      s === 'baseline' || !ratios ? undefined : `${ratios[metric][s].median.toFixed(2)}×`,
    )
  }
  const spec: ChartSpec = {
    title: 'rowfence: what tenant isolation costs over HTTP',
    subtitle: [
      `GET /items/?limit=${options.pageSize}, ${results.dataset.items.toLocaleString('en-US')} items / ` +
        `${results.dataset.tenants.toLocaleString('en-US')} tenants, ${options.workers} server processes, ` +
        `${results.machine.cores} cores (${results.machine.cpu})`,
      `Bars: median of ${options.rounds} interleaved round${options.rounds === 1 ? '' : 's'}, whiskers: min–max; ` +
        'under each bar: its ratio to baseline (median of the per-round ratios)',
    ],
    series: SCENARIOS.map((s) => ({
      name: s === 'baseline' ? 'baseline (no RLS)' : s === 'naive' ? 'naive (4 round trips)' : 'rowfence',
      color: COLORS[s],
    })),
    rows: [
      {
        title: 'Throughput, higher is better',
        unit: 'requests/s',
        cells: options.concurrency.map((c) => ({
          label: `${c} connections`,
          values: SCENARIOS.map((s) => figure(c, s, 'rps')),
          ranges: SCENARIOS.map((s) => range(c, s, 'rps')),
          notes: ratioNotes(c, 'throughput'),
        })),
      },
      {
        title: 'p99 latency, lower is better',
        unit: 'ms',
        cells: options.concurrency.map((c) => ({
          label: `${c} connections`,
          values: SCENARIOS.map((s) => figure(c, s, 'p99')),
          ranges: SCENARIOS.map((s) => range(c, s, 'p99')),
          notes: ratioNotes(c, 'p99'),
        })),
      },
    ],
  }
  return renderChart(spec)
}
