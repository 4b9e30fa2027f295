/**
 * A reader for PostgreSQL's `pg_node_tree` text (the stored form of policy expressions, defaults and view
 * rules, as written by `nodeToString()`). The linter reasons over these resolved trees (function and
 * operator OIDs, column numbers) instead of matching deparsed SQL text.
 *
 * The format is version-stable at the level this reader works: `{NODETYPE :field value ...}` objects,
 * `( ... )` lists, `<>` for NULL, backslash-escaped tokens, and datums written as `len [ b0 b1 ... ]`.
 * Field sets differ between server versions; readers look fields up by name and ignore the rest.
 */

export interface PgNode {
  readonly type: string
  readonly fields: Readonly<Record<string, PgValue>>
}

/** A datum as stored in a Const: its byte length and raw bytes (0-255). */
export interface PgDatum {
  readonly length: number
  readonly bytes: readonly number[]
}

export type PgValue = PgNode | PgDatum | string | null | readonly PgValue[]

const delimiters = new Set(['(', ')', '{', '}'])

const isSpace = (char: string): boolean => char === ' ' || char === '\n' || char === '\t' || char === '\r'

function tokenize(text: string): string[] {
  const tokens: string[] = []
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (isSpace(char)) {
      i++
      continue
    }
    if (delimiters.has(char)) {
      tokens.push(char)
      i++
      continue
    }
    const start = i
    let escaped = false
    while (i < text.length) {
      const c = text[i]!
      if (isSpace(c) || delimiters.has(c)) break
      if (c === '\\') {
        escaped = true
        i += 2
        continue
      }
      i++
    }
    const raw = text.slice(start, Math.min(i, text.length))
    tokens.push(escaped ? raw.replace(/\\(.)/gs, '$1') : raw)
  }
  return tokens
}

class Reader {
  readonly #tokens: string[]
  #position = 0

  constructor(tokens: string[]) {
    this.#tokens = tokens
  }

  get done(): boolean {
    return this.#position >= this.#tokens.length
  }

  #peek(): string | undefined {
    return this.#tokens[this.#position]
  }

  #next(): string {
    const token = this.#tokens[this.#position++]
    if (token === undefined) throw new SyntaxError('Unexpected end of pg_node_tree text')
    return token
  }

  value(): PgValue {
    const token = this.#next()
    if (token === '{') return this.#node()
    if (token === '(') return this.#list()
    if (token === '<>') return null
    if (this.#peek() === '[') return this.#datum(token)
    return token
  }

  #node(): PgNode {
    const type = this.#next()
    const fields: Record<string, PgValue> = {}
    for (;;) {
      const token = this.#peek()
      if (token === undefined) throw new SyntaxError(`Unterminated ${type} node`)
      if (token === '}') {
        this.#position++
        return { type, fields }
      }
      this.#position++
      if (!token.startsWith(':')) throw new SyntaxError(`Expected a field name in ${type}, got "${token}"`)
      const next = this.#peek()
      // A field with nothing after it (the next token is another field or the end of the node).
      fields[token.slice(1)] = next === '}' || next?.startsWith(':') ? '' : this.value()
    }
  }

  #list(): PgValue[] {
    const items: PgValue[] = []
    for (;;) {
      const token = this.#peek()
      if (token === undefined) throw new SyntaxError('Unterminated list')
      if (token === ')') {
        this.#position++
        return items
      }
      items.push(this.value())
    }
  }

  #datum(lengthToken: string): PgDatum {
    this.#position++ // '['
    const bytes: number[] = []
    for (;;) {
      const token = this.#next()
      if (token === ']') break
      bytes.push(Number(token) & 0xff)
    }
    return { length: Number(lengthToken), bytes }
  }
}

/** Parses one `pg_node_tree` text; a list of nodes (e.g. index expressions) parses to an array. */
export function parseNodeTree(text: string): PgValue {
  const reader = new Reader(tokenize(text))
  const value = reader.value()
  if (!reader.done) throw new SyntaxError('Trailing tokens after pg_node_tree value')
  return value
}

export function isNode(value: PgValue | undefined, type?: string): value is PgNode {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    'type' in value &&
    (type === undefined || value.type === type)
  )
}

export function field(node: PgNode, name: string): PgValue | undefined {
  return node.fields[name]
}

export function fieldNumber(node: PgNode, name: string): number | undefined {
  const value = node.fields[name]
  return typeof value === 'string' && value !== '' ? Number(value) : undefined
}

export function fieldString(node: PgNode, name: string): string | undefined {
  const value = node.fields[name]
  return typeof value === 'string' ? value : undefined
}

export function fieldNode(node: PgNode, name: string): PgNode | undefined {
  const value = node.fields[name]
  return isNode(value) ? value : undefined
}

/** The nodes in a list field (`:args (...)`); `<>` is an empty list. */
export function fieldNodes(node: PgNode, name: string): PgNode[] {
  const value = node.fields[name]
  return Array.isArray(value) ? value.filter((item): item is PgNode => isNode(item)) : []
}

/** Every node in a tree, depth first, with how many sub-queries (SubLinks) deep it sits. */
export function walkNodes(
  value: PgValue | undefined,
  depth = 0,
): ReadonlyArray<{ node: PgNode; depth: number }> {
  const found: Array<{ node: PgNode; depth: number }> = []
  const visit = (current: PgValue | undefined, level: number): void => {
    if (current === null || current === undefined || typeof current === 'string') return
    if (Array.isArray(current)) {
      for (const item of current as readonly PgValue[]) visit(item, level)
      return
    }
    if (!isNode(current)) return
    found.push({ node: current, depth: level })
    for (const name in current.fields) {
      visit(current.fields[name], name === 'subselect' && current.type === 'SUBLINK' ? level + 1 : level)
    }
  }
  visit(value, depth)
  return found
}

const textLikeTypes = new Set([25, 1043, 1042]) // text, varchar, bpchar
const NAME_TYPE = 19

/** Decodes a text-like Const (text, varchar, char, name); undefined for other types or NULL. */
export function constText(node: PgNode): string | undefined {
  if (node.type !== 'CONST' || fieldString(node, 'constisnull') === 'true') return undefined
  const type = fieldNumber(node, 'consttype')
  const datum = field(node, 'constvalue')
  if (type === undefined || !datum || typeof datum !== 'object' || !('bytes' in datum)) return undefined
  const bytes = datum.bytes
  if (type === NAME_TYPE) {
    const end = bytes.indexOf(0)
    return Buffer.from(end === -1 ? bytes : bytes.slice(0, end)).toString('utf8')
  }
  if (!textLikeTypes.has(type) || bytes.length === 0) return undefined
  const first = bytes[0]!
  if ((first & 0x01) === 1) {
    // 1-byte varlena header: total length in the upper 7 bits.
    const total = first >> 1
    return Buffer.from(bytes.slice(1, total)).toString('utf8')
  }
  if ((first & 0x03) !== 0) return undefined // compressed or external: not expected in a Const
  const total = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 2
  return Buffer.from(bytes.slice(4, total)).toString('utf8')
}

/** Decodes a boolean Const; undefined for other types or NULL. */
export function constBoolean(node: PgNode): boolean | undefined {
  if (node.type !== 'CONST' || fieldNumber(node, 'consttype') !== 16) return undefined
  if (fieldString(node, 'constisnull') === 'true') return undefined
  const datum = field(node, 'constvalue')
  if (!datum || typeof datum !== 'object' || !('bytes' in datum)) return undefined
  return datum.bytes[0] !== 0
}
