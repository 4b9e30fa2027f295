import { isRowfenceError } from '@rowfence/core'
import { CliError } from './cli-error.ts'
import { checkCommand } from './commands/check.ts'
import { probeCommand } from './commands/probe.ts'
import { cleanCommand } from './commands/clean.ts'
import { generateCommand } from './commands/generate.ts'
import { migrateCommand, statusCommand } from './commands/migrate.ts'
import { devCommand, seedCommand, serveCommand } from './commands/serve.ts'
import type { Command, CommandIo } from './commands/shared.ts'
import { tokenCommand } from './commands/token.ts'

export const commands: readonly Command[] = [
  devCommand,
  serveCommand,
  generateCommand,
  migrateCommand,
  statusCommand,
  seedCommand,
  tokenCommand,
  checkCommand,
  probeCommand,
  cleanCommand,
]

function help(): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return [
    'rowfence: tenant isolation for Node apps, enforced by PostgreSQL row-level security',
    '',
    'Usage: rowfence <command> [options]     rowfence <command> --help',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
  ].join('\n')
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
}

/** The one place errors are printed; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(help())
    return name === undefined ? 2 : 0
  }
  const command = commands.find((candidate) => candidate.name === name)
  if (!command) {
    io.err(`rowfence: unknown command "${name}"\n\n${help()}`)
    return 2
  }
  try {
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`rowfence ${name}: ${error.message} [${error.code}]`)
      if (error.exitCode === 2) io.err(`\n${command.usage}`)
      return error.exitCode
    }
    if (isRowfenceError(error)) {
      io.err(`rowfence ${name}: ${error.message} [${error.code}]`)
      return 1
    }
    io.err(`rowfence ${name}: ${error instanceof Error ? error.message : String(error)}`)
    if (process.env['ROWFENCE_DEBUG']) io.err(String((error as Error)?.stack))
    return 1
  }
}
