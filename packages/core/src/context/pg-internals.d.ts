// node-postgres exposes these modules through its "./lib/*" export but ships no types for them.
declare module 'pg/lib/result.js' {
  import type { FieldDef, QueryResult } from 'pg'
  class Result<R = Record<string, unknown>> implements QueryResult<R> {
    constructor(rowMode?: 'array', types?: unknown)
    command: string
    rowCount: number | null
    oid: number
    rows: R[]
    fields: FieldDef[]
    _types: unknown
    addCommandComplete(message: { text?: string; command?: string }): void
    addFields(fields: unknown[]): void
    parseRow(rawFields: unknown[]): R
    addRow(row: R): void
  }
  export default Result
}

declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): unknown }
  export default utils
}
