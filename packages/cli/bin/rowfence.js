#!/usr/bin/env node
// process.exitCode rather than process.exit(), so piped output is never cut short.
import { main } from '../dist/main.js'

process.exitCode = await main(process.argv.slice(2))
