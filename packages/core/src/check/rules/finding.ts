import { fingerprintOf } from '../report/fingerprint.ts'
import type { Finding, Rule, Severity } from '../types.ts'

export { grantedCommands, listCommands, tenantColumnOf, tenantTables } from '../catalog/relations.ts'

export function createFinding(
  rule: Pick<Rule, 'id' | 'severity'>,
  details: {
    table: string | null
    object?: string | null
    message: string
    fix: string
    /** Overrides the rule's default severity (for findings that are less exploitable). */
    severity?: Severity
  },
): Finding {
  const object = details.object ?? null
  return {
    ruleId: rule.id,
    severity: details.severity ?? rule.severity,
    table: details.table,
    object,
    message: details.message,
    fix: details.fix,
    fixStatus: 'unchecked',
    fingerprint: fingerprintOf(rule.id, details.table, object),
  }
}
