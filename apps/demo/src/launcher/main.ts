import { runProgram, type Command, type CommandIo } from '@rowfence/cli'
import { cleanCommand } from './clean.ts'
import { citusCommand, devCommand, seedCommand, serveCommand } from './server-commands.ts'
import { tokenCommand } from './token.ts'

/** The demo launcher behind `npm start`: embedded PostgreSQL, dev secrets, seed data, the demo server. */
export const demoCommands: readonly Command[] = [
  devCommand,
  citusCommand,
  serveCommand,
  seedCommand,
  tokenCommand,
  cleanCommand,
]

export function demoMain(argv: string[], io?: CommandIo): Promise<number> {
  return runProgram(
    {
      name: 'rowfence-demo',
      summary: "rowfence's reference multi-tenant app: embedded PostgreSQL, seed data, dev tokens",
      commands: demoCommands,
    },
    argv,
    io,
  )
}
