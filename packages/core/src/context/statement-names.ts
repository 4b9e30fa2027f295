import { createHash } from 'node:crypto'

/** The prefix of the names rowfence gives the statements ORMs send unnamed. */
export const AUTO_STATEMENT_PREFIX = 'rowfence_q_'

/**
 * How many prepared statements a connection may hold before statements named by rowfence go out unnamed
 * (parsed and planned for each execution, as the ORM sent them). Bounds the server memory an app with
 * unboundedly many distinct SQL texts (IN lists of every length) could pin on each connection.
 */
export const MAX_AUTO_PREPARED = 256

/**
 * An ORM statement with parameters and no name gets a name derived from its text (the same text, the
 * same name, in every process), so it is parsed once per connection and the plan advisor can move it to
 * its cached generic plan, as a hand-named statement. Statements without parameters stay unnamed:
 * PostgreSQL gains nothing from preparing those. Pooler mode sends every statement unnamed anyway.
 */
export function autoNamed<
  C extends {
    readonly text: string
    readonly name?: string | undefined
    readonly values?: readonly unknown[] | undefined
  },
>(config: C, values: readonly unknown[] | undefined): C {
  if (config.name !== undefined || !(values ?? config.values)?.length) return config
  // The keys declared before the spread and set after it: `{ ...config, name, autoPrepare }` takes a slow
  // path in V8 (Node 20) of about 1 µs per call (a spread that adds properties).
  const named: { name?: string; autoPrepare?: boolean } = {
    name: undefined,
    autoPrepare: undefined,
    ...config,
  }
  named.name = nameOf(config.text)
  named.autoPrepare = true
  return named as C
}

/** Names already computed, so a hot statement is hashed once; cleared when it grows past a bound. */
const names = new Map<string, string>()
const MAX_REMEMBERED = 2048

function nameOf(text: string): string {
  let name = names.get(text)
  if (name === undefined) {
    name = `${AUTO_STATEMENT_PREFIX}${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`
    if (names.size >= MAX_REMEMBERED) names.clear()
    names.set(text, name)
  }
  return name
}
