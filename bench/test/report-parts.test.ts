import { describe, expect, it } from 'vitest'
import { parseWrkOutput } from '../load/wrk.ts'
import { escapeXml, niceStep, renderChart } from '../report/chart.ts'

describe('wrk output', () => {
  const line =
    'WRK_RESULT {"requests":12000,"duration_us":4000000,"connect":0,"read":1,"write":0,"status":2,' +
    '"timeout":3,"p50_us":1500,"p90_us":2500,"p99_us":9000,"max_us":20000}'

  it('reads the line wrk-report.lua prints, ignoring the rest of the output', () => {
    const result = parseWrkOutput(`Running 4s test @ http://127.0.0.1:1\n  2 threads\n${line}\n`)
    expect(result).toEqual({
      requests: 12000,
      seconds: 4,
      requestsPerSecond: 3000,
      latency: { p50: 1.5, p90: 2.5, p99: 9, max: 20 },
      errors: 6,
      non2xx: 2,
    })
  })

  it('fails loudly when wrk printed no result', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1\n')).toThrow(/no result line/)
  })
})

describe('the SVG chart', () => {
  it('picks readable tick steps', () => {
    expect(niceStep(0.7)).toBeCloseTo(0.8)
    expect(niceStep(1.7)).toBe(2)
    expect(niceStep(1100)).toBe(1500)
    expect(niceStep(2.1)).toBe(2.5)
    expect(niceStep(3400)).toBe(4000)
    expect(niceStep(267)).toBe(300)
    expect(niceStep(0)).toBe(1)
  })

  it('draws one bar per series and cell, with escaped labels', () => {
    const svg = renderChart({
      title: 'A <b> & "c"',
      subtitle: ['one', 'two'],
      series: [
        { name: 'x', color: '#111' },
        { name: 'y', color: '#222' },
      ],
      rows: [
        {
          title: 'Throughput',
          unit: 'req/s',
          cells: [
            { label: 'c=1', values: [100, 90], notes: [undefined, '0.90×'] },
            { label: 'c=2', values: [200, undefined] },
          ],
        },
      ],
    })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(svg.match(/<rect [^>]*fill="#(111|222)"><title>/g)).toHaveLength(3)
    expect(svg).toContain(escapeXml('A <b> & "c"'))
    expect(svg).not.toContain('<b>')
    expect(svg).toContain('0.90×')
  })
})
