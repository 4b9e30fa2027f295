/** What the primary tells each bench server process (through an environment variable, as JSON). */
export interface ServerWorkerConfig {
  readonly appUrl: string
  readonly poolSize: number
  readonly jwtSecret: string
  readonly port: number
  /** The signed context the demo runs (`<id>:<secret>`, installed in the database); unset: the plain one. */
  readonly contextKey?: string | undefined
}

export const SERVER_CONFIG_VARIABLE = 'ROWFENCE_BENCH_SERVER'
