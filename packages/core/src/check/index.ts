/** `@rowfence/core/check`: the isolation linter. */
export {
  checkDatabase,
  countBySeverity,
  runRules,
  TOOL_VERSION,
  type CheckOptions,
  type CheckReport,
} from './check-database.ts'
export { introspect, SHARED_MARKER, type IntrospectOptions } from './catalog/introspect.ts'
export { checkRules } from './rules/index.ts'
export {
  formatProbeText,
  probeContextSql,
  probeDatabase,
  type ProbeContext,
  type ProbeKind,
  type ProbeOptions,
  type ProbeOutcome,
  type ProbeReport,
  type ProbeResult,
} from './probe/probe-database.ts'
export {
  applyBaseline,
  createBaseline,
  readBaseline,
  serializeBaseline,
  writeBaseline,
  type Baseline,
  type BaselineEntry,
} from './report/baseline.ts'
export { fingerprintOf } from './report/fingerprint.ts'
export { formatText } from './report/format-text.ts'
export { formatJson } from './report/format-json.ts'
export { formatSarif, SARIF_SCHEMA, toSarif, type SarifLog } from './report/format-sarif.ts'
export type {
  CatalogSnapshot,
  Command,
  Finding,
  FixStatus,
  PlanEvidence,
  Relation,
  Rule,
  RuleInput,
  Severity,
} from './types.ts'
