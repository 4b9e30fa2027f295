import { describe, expect, it } from 'vitest'
import { formatRatio, median, percentile, spreadOf } from '../stats.ts'

describe('stats', () => {
  it('interpolates percentiles between closest ranks', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    expect(percentile(sorted, 0)).toBe(1)
    expect(percentile(sorted, 50)).toBe(5.5)
    expect(percentile(sorted, 100)).toBe(10)
    expect(percentile(sorted, 90)).toBeCloseTo(9.1)
    expect(percentile([], 50)).toBe(0)
  })

  it('takes the median of unsorted values without reordering them', () => {
    const values = [3, 1, 2]
    expect(median(values)).toBe(2)
    expect(values).toEqual([3, 1, 2])
  })

  it('summarizes rounds as median and min–max', () => {
    expect(spreadOf([0.9, 0.95, 0.92])).toEqual({
      median: 0.92,
      min: 0.9,
      max: 0.95,
      values: [0.9, 0.95, 0.92],
    })
    expect(formatRatio(spreadOf([0.9, 0.95, 0.92]))).toBe('0.92× (0.90–0.95)')
    expect(formatRatio(spreadOf([1.234]))).toBe('1.23×')
    expect(formatRatio(spreadOf([]))).toBe('n/a')
  })
})
