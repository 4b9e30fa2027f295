#!/usr/bin/env node
// The demo runs from its TypeScript sources through tsx, with workspace packages resolved to their
// sources too (the "@rowfence/source" export condition): no build step between a fresh clone and
// `npm start`. process.exitCode rather than process.exit(), so piped output is never cut short.
import { register } from 'node:module'
import { register as registerTsx } from 'tsx/esm/api'

registerTsx()
register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(specifier, context, next) {' +
        " return next(specifier, { ...context, conditions: ['@rowfence/source', ...context.conditions] }) }",
    ),
)
const { demoMain } = await import('../src/launcher/main.ts')
process.exitCode = await demoMain(process.argv.slice(2))
