import type { QueryResult, QueryResultRow } from 'pg'
import Result from 'pg/lib/result.js'
import utils from 'pg/lib/utils.js'
import { MAX_AUTO_PREPARED } from './statement-names.ts'

/** One statement of a batch. A `name` makes it a prepared statement, parsed once per connection. */
export interface BatchStatement {
  readonly text: string
  readonly values?: readonly unknown[] | undefined
  readonly name?: string | undefined
  readonly rowMode?: 'array' | undefined
  /** Per-statement type parsers (node-postgres `types`); the connection's parsers otherwise. */
  readonly types?: unknown
  /**
   * A name rowfence gave (see autoNamed): sent unnamed instead when the connection already holds
   * MAX_AUTO_PREPARED prepared statements.
   */
  readonly autoPrepare?: boolean | undefined
  /** Its rows are not needed (the context statement): no Describe is sent and rows are dropped unparsed. */
  readonly discardRows?: boolean | undefined
}

/** The parts of node-postgres' Connection a submittable drives (see pg/lib/query.js). */
interface WireConnection {
  parsedStatements: Record<string, string | undefined>
  stream: { cork?: () => void; uncork?: () => void }
  parse(message: { text: string; name?: string; types?: unknown }): void
  bind(message: {
    portal: string
    statement?: string
    values?: readonly unknown[]
    valueMapper: (value: unknown) => unknown
  }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  close(message: { type: 'S'; name: string }): void
  sync(): void
}

type Callback = (error: Error | null, results?: QueryResult[]) => void

/**
 * A node-postgres "submittable" that writes several statements (Parse/Bind/Describe/Execute each) and a
 * single Sync in one socket write, then collects one result per statement. The server runs everything up
 * to the Sync in one implicit transaction and answers with one ReadyForQuery: one network round trip for
 * the whole batch. If a statement fails, the server skips the rest until the Sync and the batch rejects
 * with that statement's error.
 */
export class PipelinedBatch {
  readonly #statements: readonly BatchStatement[]
  readonly #results: Result[]
  #index = 0
  #error: Error | null = null
  #preparedNames: string[] = []
  callback: Callback | undefined

  constructor(statements: readonly BatchStatement[], types: unknown) {
    if (statements.length === 0) throw new TypeError('A batch needs at least one statement')
    this.#statements = statements
    this.#results = statements.map((statement) => new Result(statement.rowMode, statement.types ?? types))
  }

  /** Resolves with one result per statement, in order. */
  static run(
    client: { query(submittable: PipelinedBatch): unknown; _types?: unknown },
    statements: readonly BatchStatement[],
  ): Promise<QueryResult[]> {
    return new Promise((resolve, reject) => {
      const batch = new PipelinedBatch(statements, client._types)
      batch.callback = (error, results) => (error ? reject(error) : resolve(results ?? []))
      client.query(batch)
    })
  }

  submit(connection: WireConnection): Error | null {
    connection.stream.cork?.()
    try {
      for (const statement of this.#statements) this.#write(connection, statement)
      connection.sync()
    } catch (error) {
      // A value that cannot be serialized: nothing useful was executed; the Sync ends the batch.
      this.#error = error instanceof Error ? error : new Error(String(error))
      connection.sync()
    } finally {
      connection.stream.uncork?.()
    }
    return null
  }

  #write(connection: WireConnection, statement: BatchStatement): void {
    let name = statement.name ?? ''
    if (
      statement.autoPrepare &&
      name !== '' &&
      connection.parsedStatements[name] !== statement.text &&
      Object.keys(connection.parsedStatements).length >= MAX_AUTO_PREPARED
    ) {
      name = ''
    }
    if (name === '' || connection.parsedStatements[name] !== statement.text) {
      if (name !== '') {
        // Closing a statement that does not exist is not an error; this makes a re-parse after an earlier
        // failed batch safe whether or not that batch got as far as creating the statement.
        connection.close({ type: 'S', name })
        this.#preparedNames.push(name)
      }
      connection.parse({ text: statement.text, name })
    }
    connection.bind({
      portal: '',
      statement: name,
      values: statement.values ?? [],
      valueMapper: utils.prepareValue,
    })
    if (!statement.discardRows) connection.describe({ type: 'P', name: '' })
    connection.execute({ portal: '', rows: 0 })
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    this.#current()?.addFields(message.fields)
  }

  handleDataRow(message: { fields: unknown[] }): void {
    const result = this.#current()
    if (!result || this.#error || this.#statements[this.#index]?.discardRows) return
    try {
      result.addRow(result.parseRow(message.fields))
    } catch (error) {
      this.#error = error instanceof Error ? error : new Error(String(error))
    }
  }

  handleCommandComplete(message: { text?: string }): void {
    this.#current()?.addCommandComplete(message)
    this.#index += 1
  }

  handleEmptyQuery(): void {
    this.#index += 1
  }

  handleError(error: Error, connection?: WireConnection): void {
    // Statements named in this batch may or may not exist server-side now: forget them so the next
    // batch closes and re-parses them.
    if (connection) for (const name of this.#preparedNames) delete connection.parsedStatements[name]
    this.#finish(error)
  }

  handleReadyForQuery(connection: WireConnection): void {
    if (this.#error) {
      this.handleError(this.#error, connection)
      return
    }
    for (const name of this.#preparedNames) {
      const statement = this.#statements.find((candidate) => candidate.name === name)
      if (statement) connection.parsedStatements[name] = statement.text
    }
    this.#finish(null)
  }

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('COPY is not supported in a tenant batch')
  }

  handleCopyData(): void {}

  #current(): Result | undefined {
    return this.#results[this.#index]
  }

  #finish(error: Error | null): void {
    const callback = this.callback
    this.callback = undefined
    if (!callback) return
    if (error) callback(error)
    else callback(null, this.#results as QueryResult<QueryResultRow>[])
  }
}
