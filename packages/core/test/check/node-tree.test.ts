import { describe, expect, it } from 'vitest'
import {
  constBoolean,
  constText,
  isNode,
  parseNodeTree,
  walkNodes,
} from '../../src/check/analysis/node-tree.ts'

const text = (value: string): string => {
  const bytes = [...Buffer.from(value)]
  const total = bytes.length + 4
  const header = [(total << 2) & 0xff, (total >> 6) & 0xff, 0, 0]
  return `{CONST :consttype 25 :constisnull false :constvalue ${total} [ ${[...header, ...bytes].join(' ')} ]}`
}

describe('pg_node_tree reader', () => {
  it('reads nodes, lists, NULL, escaped tokens and bitmapsets', () => {
    const tree = parseNodeTree(
      '{OPEXPR :opno 98 :args ({VAR :varno 1 :varattno 2 :varnullingrels (b)} {ALIAS :aliasname we\\ ird :colnames ("a" "b\\ c")}) :location -1 :testexpr <>}',
    )
    expect(isNode(tree, 'OPEXPR')).toBe(true)
    const nodes = [...walkNodes(tree)].map((entry) => entry.node.type)
    expect(nodes).toEqual(['OPEXPR', 'VAR', 'ALIAS'])
    const alias = [...walkNodes(tree)][2]!.node
    expect(alias.fields['aliasname']).toBe('we ird')
    expect(alias.fields['colnames']).toEqual(['"a"', '"b c"'])
  })

  it('decodes text and boolean constants (4-byte and 1-byte varlena headers)', () => {
    const long = parseNodeTree(text('app.tenant id"x\''))
    expect(isNode(long) && constText(long)).toBe('app.tenant id"x\'')
    const short = parseNodeTree('{CONST :consttype 25 :constisnull false :constvalue 3 [ 7 111 110 ]}')
    expect(isNode(short) && constText(short)).toBe('on')
    const flag = parseNodeTree('{CONST :consttype 16 :constisnull false :constvalue 1 [ 1 0 0 0 0 0 0 0 ]}')
    expect(isNode(flag) && constBoolean(flag)).toBe(true)
    const none = parseNodeTree('{CONST :consttype 25 :constisnull true :constvalue <>}')
    expect(isNode(none) && constText(none)).toBeUndefined()
  })

  it('counts sub-query depth through SubLinks', () => {
    const tree = parseNodeTree(
      '{SUBLINK :subLinkType 4 :subselect {QUERY :targetList ({TARGETENTRY :expr {VAR :varlevelsup 1}})}}',
    )
    const depths = [...walkNodes(tree)].map((entry) => `${entry.node.type}@${entry.depth}`)
    expect(depths).toEqual(['SUBLINK@0', 'QUERY@1', 'TARGETENTRY@1', 'VAR@1'])
  })

  it('rejects truncated input', () => {
    expect(() => parseNodeTree('{OPEXPR :args (')).toThrow(SyntaxError)
  })
})
