import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import pg from 'pg'

let ticksPerSecond: number | undefined

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
    ticksPerSecond = Number(probe.stdout?.trim()) || 100
  }
  return ticksPerSecond
}

/** User + system CPU seconds one process has used so far (Linux /proc), with its command name. */
export function processCpu(pid: number): { seconds: number; command: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command is in parentheses and may contain spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')')
    const command = stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ')
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 after the command.
    return { seconds: (Number(fields[11]) + Number(fields[12])) / clockTicks(), command }
  } catch {
    return undefined
  }
}

/**
 * CPU time of the PostgreSQL backends serving one database, read from /proc: works when PostgreSQL
 * runs on this machine (the embedded one always does), and reports undefined otherwise. Backends are
 * found through pg_stat_activity on a connection of its own, which it leaves out.
 */
export class PostgresCpu {
  readonly #client: pg.Client

  private constructor(client: pg.Client) {
    this.#client = client
  }

  static async open(url: string): Promise<PostgresCpu> {
    const client = new pg.Client(url)
    await client.connect()
    return new PostgresCpu(client)
  }

  /** CPU seconds per backend pid, for the backends this machine can see. */
  async sample(): Promise<Map<number, number>> {
    const { rows } = await this.#client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    )
    const sample = new Map<number, number>()
    for (const { pid } of rows) {
      const cpu = processCpu(pid)
      if (cpu && cpu.command.startsWith('postgres')) sample.set(pid, cpu.seconds)
    }
    return sample
  }

  close(): Promise<void> {
    return this.#client.end()
  }
}

/** CPU seconds used between two samples by the backends in `after` (a new backend started from 0). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number | undefined {
  if (after.size === 0) return undefined
  let total = 0
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0)
  return total
}
