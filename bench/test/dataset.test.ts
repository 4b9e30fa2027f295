import { describe, expect, it } from 'vitest'
import { isUuid } from '@rowfence/core'
import { benchTenantId, datasetShape, pickEvenly, scaleTenants } from '../dataset.ts'

describe('the bench data set', () => {
  it('spreads exactly the requested items over the tenants, every tenant getting some', () => {
    for (const [tenants, items] of [
      [10_000, 1_000_000],
      [1000, 100_000],
      [50, 2000],
      [3, 3],
    ] as const) {
      const shape = datasetShape(tenants, items)
      expect(shape.tenants).toHaveLength(tenants)
      expect(shape.tenants.reduce((sum, t) => sum + t.items, 0)).toBe(items)
      expect(Math.min(...shape.tenants.map((t) => t.items))).toBeGreaterThanOrEqual(1)
    }
  })

  it('is skewed: a few large tenants and a long tail, largest first', () => {
    const { tenants } = datasetShape(10_000, 1_000_000)
    expect(tenants[0]!.items).toBeGreaterThan(90_000)
    expect(tenants.at(-1)!.items).toBeGreaterThanOrEqual(10) // a full ?limit=10 page for every tenant
    expect(tenants[5000]!.items).toBeLessThan(100)
    for (let i = 1; i < tenants.length; i++)
      expect(tenants[i]!.items).toBeLessThanOrEqual(tenants[i - 1]!.items)
  })

  it('has stable, unique UUIDs and names, so every run loads the same tenants', () => {
    const { tenants } = datasetShape(2000, 4000)
    expect(new Set(tenants.map((t) => t.id)).size).toBe(2000)
    expect(new Set(tenants.map((t) => t.name)).size).toBe(2000)
    expect(tenants.every((t) => isUuid(t.id))).toBe(true)
    expect(benchTenantId(1)).toBe(benchTenantId(1))
    expect(benchTenantId(1)).toBe(tenants[0]!.id)
  })

  it('picks tenants evenly across the sizes', () => {
    const shape = datasetShape(100, 1000)
    const picked = pickEvenly(shape.tenants, 10)
    expect(picked.map((t) => t.rank)).toEqual([1, 11, 21, 31, 41, 51, 61, 71, 81, 91])
    expect(pickEvenly(shape.tenants, 500)).toHaveLength(100)
    expect(scaleTenants(shape).map((c) => [c.label, c.tenant.rank])).toEqual([
      ['largest', 1],
      ['median', 51],
      ['smallest', 100],
    ])
  })

  it('rejects impossible shapes', () => {
    expect(() => datasetShape(10, 5)).toThrow(RangeError)
    expect(() => datasetShape(0, 5)).toThrow(RangeError)
  })
})
