import type pg from 'pg'

export interface WireCounter {
  /** ReadyForQuery messages seen since the last reset: one per round trip (one per Sync). */
  readyForQuery: number
  reset(): void
}

/**
 * Counts ReadyForQuery messages on the single connection of a `max: 1` pool: every round trip ends with
 * one, whatever the statements in it. Reaches into node-postgres' connection (not public API), which
 * is fine for tests and benchmarks.
 */
export async function countRoundTrips(pool: pg.Pool): Promise<WireCounter> {
  const client = await pool.connect()
  const counter: WireCounter = {
    readyForQuery: 0,
    reset() {
      counter.readyForQuery = 0
    },
  }
  ;(client as unknown as { connection: { on(e: string, f: () => void): void } }).connection.on(
    'readyForQuery',
    () => counter.readyForQuery++,
  )
  client.release()
  return counter
}
