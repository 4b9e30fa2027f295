/**
 * Splits an SQL script into its statements at top-level semicolons, skipping those inside string
 * literals ('...', E'...'), quoted identifiers, dollar-quoted bodies ($$...$$, $tag$...$tag$) and
 * comments (-- and nested /* *\/). Statements keep their text; empty ones (only whitespace and
 * comments) are dropped. For servers that must get one statement per query: Citus forwards the whole
 * query string of some utility commands to its workers, so a multi-statement script runs there too.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = []
  let start = 0
  let i = 0
  const n = script.length
  const push = (end: number): void => {
    const text = script.slice(start, end).trim()
    if (text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim() !== '') statements.push(text)
  }
  while (i < n) {
    const char = script[i]!
    const next = script[i + 1]
    if (char === '-' && next === '-') {
      const end = script.indexOf('\n', i)
      i = end === -1 ? n : end + 1
    } else if (char === '/' && next === '*') {
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        const pair = script.slice(i, i + 2)
        const step = pair === '/*' ? 1 : pair === '*/' ? -1 : 0
        depth += step
        i += step === 0 ? 1 : 2
      }
    } else if (char === "'" || char === '"') {
      const escapes = char === "'" && /[eE]/.test(script[i - 1] ?? '') && !/\w/.test(script[i - 2] ?? '')
      i += 1
      while (i < n) {
        if (escapes && script[i] === '\\') i += 2
        else if (script[i] === char && script[i + 1] === char) i += 2
        else if (script[i] === char) break
        else i += 1
      }
      i += 1
    } else if (char === '$' && !/\w/.test(script[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i))
      if (tag) {
        const end = script.indexOf(tag[0], i + tag[0].length)
        i = end === -1 ? n : end + tag[0].length
      } else i += 1
    } else if (char === ';') {
      push(i)
      i += 1
      start = i
    } else i += 1
  }
  push(n)
  return statements
}
