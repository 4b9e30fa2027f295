import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usageError } from '../cli-error.ts'

export interface CommandIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

export interface Command {
  readonly name: string
  readonly summary: string
  readonly usage: string
  run(argv: string[], io: CommandIo): Promise<number>
}

type Options = NonNullable<ParseArgsConfig['options']>
type WithHelp<T extends Options> = T & { help: { type: 'boolean'; short: 'h' } }
/** What parseCommandArgs returns: node:util parseArgs' result for the options plus `--help`. */
export type ParsedCommandArgs<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: WithHelp<T>; strict: true; allowPositionals: false }>
>

/** parseArgs with `--help` and usage errors (exit 2) for unknown flags or stray arguments. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T): ParsedCommandArgs<T> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    })
  } catch (error) {
    throw usageError((error as Error).message)
  }
}
