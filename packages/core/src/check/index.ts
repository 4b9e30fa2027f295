/** `@rowfence/core/check`: the isolation linter. */
export {
  checkDatabase,
  countBySeverity,
  runRules,
  TOOL_VERSION,
  type CheckOptions,
  type CheckReport,
} from './check-database.ts'
export { introspect, SHARED_MARKER, type IntrospectOptions } from './introspect.ts'
export { checkRules } from './rules/index.ts'
export {
  applyBaseline,
  createBaseline,
  readBaseline,
  serializeBaseline,
  writeBaseline,
  type Baseline,
  type BaselineEntry,
} from './baseline.ts'
export { fingerprintOf } from './finding.ts'
export { formatText } from './format-text.ts'
export { formatJson } from './format-json.ts'
export { formatSarif, SARIF_SCHEMA, toSarif, type SarifLog } from './format-sarif.ts'
export type { CatalogSnapshot, Command, Finding, Rule, Severity } from './types.ts'
