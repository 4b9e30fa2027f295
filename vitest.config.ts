import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

/**
 * Workspace packages resolve to their TypeScript sources in tests: every export that has an
 * "@rowfence/source" condition becomes an alias. What users install is the built dist/, which the
 * packaging test checks.
 */
function sourceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = []
  for (const root of ['packages', 'apps', 'tools']) {
    if (!existsSync(root)) continue
    for (const dir of readdirSync(root)) {
      const file = join(root, dir, 'package.json')
      if (!existsSync(file)) continue
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        name: string
        exports?: Record<string, unknown>
      }
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        const source =
          typeof target === 'object' && target !== null
            ? (target as Record<string, unknown>)['@rowfence/source']
            : undefined
        if (typeof source !== 'string') continue
        const name = manifest.name + subpath.slice(1)
        const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
        aliases.push({ find: new RegExp(`^${escaped}$`), replacement: resolve(root, dir, source) })
      }
    }
  }
  return aliases
}

export default defineConfig({
  resolve: { alias: sourceAliases() },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
