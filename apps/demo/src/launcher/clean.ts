import { rm } from 'node:fs/promises'
import { parseCommandArgs, type Command } from '@rowfence/cli'
import { rowfenceHome } from './home.ts'

export const cleanCommand: Command = {
  name: 'clean',
  summary: 'Delete .rowfence/ (embedded PostgreSQL data and dev secrets)',
  usage: `rowfence-demo clean

Removes the local state folder (ROWFENCE_HOME, default .rowfence/). Stop \`npm start\` first.`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {})
    if (values.help) return (io.out(this.usage), 0)
    const home = rowfenceHome()
    await rm(home, { recursive: true, force: true })
    io.err(`removed ${home}`)
    return 0
  },
}
