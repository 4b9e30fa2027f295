import { checkCommand } from './commands/check.ts'
import { probeCommand } from './commands/probe.ts'
import { generateCommand } from './commands/generate.ts'
import { keysCommand } from './commands/keys.ts'
import { migrateCommand, statusCommand } from './commands/migrate.ts'
import type { Command, CommandIo } from './commands/shared.ts'
import { runProgram } from './program.ts'

export const commands: readonly Command[] = [
  generateCommand,
  migrateCommand,
  statusCommand,
  checkCommand,
  probeCommand,
  keysCommand,
]

/** The `rowfence` command. Returns the exit code (0 ok, 1 failure, 2 usage or configuration). */
export function main(argv: string[], io?: CommandIo): Promise<number> {
  return runProgram(
    {
      name: 'rowfence',
      summary: 'rowfence: tenant isolation for Node apps, enforced by PostgreSQL row-level security',
      commands,
    },
    argv,
    io,
  )
}
