import { readFileSync } from 'node:fs'
import { isRowfenceError } from '@rowfence/core'
import { CliError } from './cli-error.ts'
import type { Command, CommandIo } from './commands/shared.ts'

export interface Program {
  /** The executable's name, as users type it. */
  readonly name: string
  readonly summary: string
  readonly commands: readonly Command[]
}

function help(program: Program): string {
  const width = Math.max(...program.commands.map((command) => command.name.length))
  return [
    program.summary,
    '',
    `Usage: ${program.name} <command> [options]     ${program.name} <command> --help`,
    '',
    'Commands:',
    ...program.commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
  ].join('\n')
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
}

/** The one place errors are printed; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runProgram(
  program: Program,
  argv: string[],
  io: CommandIo = defaultIo,
): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(help(program))
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v') {
    io.out(CLI_VERSION)
    return 0
  }
  const command = program.commands.find((candidate) => candidate.name === name)
  if (!command) {
    io.err(`${program.name}: unknown command "${name}"\n\n${help(program)}`)
    return 2
  }
  const prefix = `${program.name} ${name}`
  try {
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`${prefix}: ${error.message} [${error.code}]`)
      if (error.exitCode === 2) io.err(`\n${command.usage}`)
      return error.exitCode
    }
    if (isRowfenceError(error)) {
      io.err(`${prefix}: ${error.message} [${error.code}]`)
      return 1
    }
    io.err(`${prefix}: ${error instanceof Error ? error.message : String(error)}`)
    if (process.env['ROWFENCE_DEBUG']) io.err(String((error as Error)?.stack))
    return 1
  }
}

/** This package's version, read from its package.json (one level above src/ and dist/). */
export const CLI_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version
