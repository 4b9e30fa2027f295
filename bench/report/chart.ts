/**
 * A small-multiples bar chart as SVG, written by hand (no chart dependency): one row per metric, one
 * column per group (concurrency), each cell with its own y scale so c=10 is as readable as c=1000.
 */
export interface ChartSeries {
  readonly name: string
  readonly color: string
}

export interface ChartCell {
  /** Column heading, e.g. `c = 50`. */
  readonly label: string
  /** One value per series, in series order; undefined draws nothing. */
  readonly values: readonly (number | undefined)[]
  /** Printed under each bar's value, e.g. `0.93×`. */
  readonly notes?: readonly (string | undefined)[]
  /** Min and max over the rounds, drawn as a whisker over each bar. */
  readonly ranges?: readonly (readonly [number, number] | undefined)[]
}

export interface ChartRow {
  readonly title: string
  readonly unit: string
  readonly cells: readonly ChartCell[]
}

export interface ChartSpec {
  readonly title: string
  /** One line each. */
  readonly subtitle: readonly string[]
  readonly series: readonly ChartSeries[]
  readonly rows: readonly ChartRow[]
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}

/** A readable tick step (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × a power of ten), at least `value`. */
export function niceStep(value: number): number {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10])
    if (step * power >= value * (1 - 1e-9)) return step * power
  return 10 * power
}

export function formatValue(value: number): string {
  if (value === 0) return '0'
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(Number.isInteger(value) ? 0 : 1)
  return value.toFixed(2)
}

const CELL_WIDTH = 300
const CELL_HEIGHT = 210
const PLOT = { left: 52, right: 12, top: 34, bottom: 22 }
const HEADER = 62
const ROW_TITLE = 26

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attributes}>${escapeXml(content)}</text>`
}

function cell(row: ChartRow, c: ChartCell, series: readonly ChartSeries[], x0: number, y0: number): string[] {
  const parts: string[] = []
  const plotWidth = CELL_WIDTH - PLOT.left - PLOT.right
  const plotHeight = CELL_HEIGHT - PLOT.top - PLOT.bottom
  const baseY = y0 + PLOT.top + plotHeight
  const highest = Math.max(0, ...c.values.map((v) => v ?? 0), ...(c.ranges ?? []).map((r) => r?.[1] ?? 0))
  const max = 4 * niceStep((highest * 1.15) / 4)
  parts.push(
    text(x0 + PLOT.left + plotWidth / 2, y0 + 16, c.label, 'text-anchor="middle" font-weight="bold"'),
  )
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max * tick) / 4
    const y = baseY - (plotHeight * tick) / 4
    parts.push(
      `<line x1="${x0 + PLOT.left}" x2="${x0 + PLOT.left + plotWidth}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e3e3e3"/>`,
      text(x0 + PLOT.left - 6, y + 4, formatValue(value), 'text-anchor="end" class="tick"'),
    )
  }
  const slot = plotWidth / series.length
  const barWidth = slot * 0.62
  c.values.forEach((value, i) => {
    if (value === undefined || !Number.isFinite(value)) return
    const height = (plotHeight * value) / max
    const x = x0 + PLOT.left + slot * i + (slot - barWidth) / 2
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${(baseY - height).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="${series[i]!.color}"><title>${escapeXml(`${series[i]!.name}, ${c.label}: ${formatValue(value)} ${row.unit}`)}</title></rect>`,
    )
    const range = c.ranges?.[i]
    let labelY = baseY - height - 5
    if (range) {
      const [low, high] = range.map((v) => baseY - (plotHeight * v) / max) as [number, number]
      const mid = x + barWidth / 2
      parts.push(
        `<path d="M${mid.toFixed(1)} ${low.toFixed(1)}V${high.toFixed(1)}M${(mid - 4).toFixed(1)} ${high.toFixed(1)}h8M${(mid - 4).toFixed(1)} ${low.toFixed(1)}h8" stroke="#333" stroke-width="1" fill="none"/>`,
      )
      labelY = Math.min(labelY, high - 5)
    }
    parts.push(text(x + barWidth / 2, labelY, formatValue(value), 'text-anchor="middle" class="value"'))
    const note = c.notes?.[i]
    if (note) parts.push(text(x + barWidth / 2, baseY + 15, note, 'text-anchor="middle" class="note"'))
  })
  parts.push(
    `<line x1="${x0 + PLOT.left}" x2="${x0 + PLOT.left + plotWidth}" y1="${baseY}" y2="${baseY}" stroke="#888"/>`,
  )
  return parts
}

export function renderChart(spec: ChartSpec): string {
  const columns = Math.max(1, ...spec.rows.map((row) => row.cells.length))
  const width = Math.max(640, columns * CELL_WIDTH + 20)
  const header = HEADER + 16 * spec.subtitle.length
  const height = header + spec.rows.length * (CELL_HEIGHT + ROW_TITLE) + 10
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    '<style>.tick{fill:#666;font-size:10px}.value{fill:#222;font-size:11px}.note{fill:#444;font-size:10px}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(10, 22, spec.title, 'font-size="17" font-weight="bold"'),
    ...spec.subtitle.map((line, i) => text(10, 40 + 16 * i, line, 'fill="#555"')),
  ]
  let legendX = 10
  const legendY = header - 20
  for (const s of spec.series) {
    parts.push(
      `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${s.color}"/>`,
      text(legendX + 17, legendY, s.name),
    )
    legendX += 24 + s.name.length * 7
  }
  spec.rows.forEach((row, r) => {
    const y = header + r * (CELL_HEIGHT + ROW_TITLE)
    parts.push(text(10, y + 18, `${row.title} (${row.unit})`, 'font-size="14" font-weight="bold"'))
    row.cells.forEach((c, i) => parts.push(...cell(row, c, spec.series, 10 + i * CELL_WIDTH, y + ROW_TITLE)))
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
