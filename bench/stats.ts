/** Percentile of an ascending array, linear interpolation between closest ranks; 0 for an empty array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const rank = (p / 100) * (sorted.length - 1)
  const low = Math.floor(rank)
  const high = Math.ceil(rank)
  const a = sorted[low]!
  const b = sorted[high]!
  return a + (b - a) * (rank - low)
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

/** A figure measured once per round: its median and its spread (min and max) over the rounds. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly values: readonly number[]
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [] }
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values: [...values] }
}

/** `0.93× (0.91–0.95)`; a single round has no spread to show. */
export function formatRatio(spread: Spread, digits = 2): string {
  if (!Number.isFinite(spread.median)) return 'n/a'
  const main = `${spread.median.toFixed(digits)}×`
  if (spread.values.length < 2) return main
  return `${main} (${spread.min.toFixed(digits)}–${spread.max.toFixed(digits)})`
}

/** The median of the values that were measured (finite), or undefined when none was. */
export function medianOfMeasured(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((value): value is number => value !== undefined && Number.isFinite(value))
  return known.length === 0 ? undefined : median(known)
}
