import { forgeableSettings } from '../analysis/context-trust.ts'
import { createFinding, tenantTables } from './finding.ts'
import type { Finding, Rule } from '../types.ts'

/** What to do about it: the signed context (docs/signed-context.md). Comments only: advice, not SQL. */
export function signedContextFix(settings: readonly string[]): string {
  return [
    `-- sign the context so that ${settings.length === 1 ? 'this setting is' : 'these settings are'} no longer trusted (docs/signed-context.md):`,
    '-- 1. schema: rowfenceSchema({ ..., context: { signed: true } }), then `rowfence generate` writes the migration',
    '--    (the key table rowfence.context_keys, which only the owner reads, and the SECURITY DEFINER',
    '--    rowfence.verified_context() with a pinned search_path that the context functions go through)',
    '-- 2. `rowfence migrate`, then `ROWFENCE_CONTEXT_KEY=<id>:<secret> rowfence keys --add` (as the owner)',
    '-- 3. app: bindContextConfig(pool, { signing: { key: parseContextKey(process.env.ROWFENCE_CONTEXT_KEY) } })',
    '--    deploy it with the migration: until the app signs, the verified context is NULL and it sees no rows',
    '-- hand-written context functions: read the setting only through a SECURITY DEFINER function that',
    '-- verifies a MAC with a key the app role cannot read',
  ].join('\n')
}

/** The injection that forges a setting, as the finding and the probe show it. */
export function forgeExample(setting: string): string {
  return `set_config('${setting.replaceAll("'", "''")}', '<victim tenant id>', true)`
}

export const contextForgeable: Rule = {
  id: 'context-forgeable',
  severity: 'info',
  summary:
    'The policies trust a custom setting the app role can set (set_config), not a verified (signed) context',
  check: ({ snapshot, analysis }) => {
    const sources = new Map<string, { label: string; settings: string[]; tables: Set<string> }>()
    for (const table of tenantTables(snapshot)) {
      if (!table.rlsEnabled) continue
      for (const policy of analysis.policiesOf(table)) {
        if (!policy.appliesToApp) continue
        for (const expression of [policy.using, policy.withCheck]) {
          for (const read of analysis.facts(table, expression).reads) {
            const settings = forgeableSettings(analysis, read)
            if (settings.length === 0) continue
            const source = sources.get(read.key) ?? { label: read.label, settings, tables: new Set() }
            source.tables.add(table.displayName)
            sources.set(read.key, source)
          }
        }
      }
    }
    const findings: Finding[] = []
    for (const source of sources.values()) {
      const tables = [...source.tables].sort()
      const via = source.label.startsWith('current_setting(')
        ? `the plain setting ${source.settings.join(', ')}`
        : `${source.label}, which reads the plain setting${source.settings.length === 1 ? '' : 's'} ${source.settings.join(', ')} unverified`
      findings.push(
        createFinding(contextForgeable, {
          table: null,
          object: source.label,
          message:
            `policies on ${tables.slice(0, 3).join(', ')}${tables.length > 3 ? ', …' : ''} trust ${via}: ` +
            `${snapshot.app.name}, like any role, can set a custom setting, so one SQL injection that runs ` +
            `${forgeExample(source.settings[0]!)} inside a statement makes that statement read and write the ` +
            `victim tenant's rows (the context is forgeable; isolation then rests on the app having no injection)`,
          fix: signedContextFix(source.settings),
        }),
      )
    }
    return findings
  },
}
