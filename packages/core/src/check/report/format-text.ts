import { countBySeverity, type CheckReport } from '../check-database.ts'
import type { Finding } from '../types.ts'

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? line : prefix + line))
    .join('\n')
}

function fixLabel(finding: Finding): string {
  if (finding.fixStatus === 'verified') return 'fix (verified):'
  if (finding.fixStatus === 'unverified') {
    return `fix (unverified suggestion${finding.fixNote ? `: ${finding.fixNote}` : ''}):\n              `
  }
  return 'fix:'
}

/** Human output: findings grouped by table, each with severity, rule id, why, and the fix as SQL. */
export function formatText(report: CheckReport): string {
  const lines = [
    `rowfence check: database ${report.database}, schema ${report.schema}, app role ${report.appRole}, ` +
      `tenant column ${report.tenantColumn} (PostgreSQL ${report.serverVersion})`,
    `${plural(report.tenantTables.length, 'tenant table')} checked with ${plural(report.rules.length, 'rule')}`,
  ]
  const groups = new Map<string, Finding[]>()
  for (const finding of report.findings) {
    const key = finding.table ?? '(database)'
    groups.set(key, [...(groups.get(key) ?? []), finding])
  }
  const keys = [...groups.keys()].sort((a, b) =>
    a === '(database)' ? -1 : b === '(database)' ? 1 : a.localeCompare(b),
  )
  for (const key of keys) {
    lines.push('', key)
    for (const finding of groups.get(key)!) {
      lines.push(
        `  ${finding.severity.padEnd(7)} ${finding.ruleId}`,
        `          ${finding.message}`,
        `          ${fixLabel(finding)} ${indent(finding.fix, '               ')}`,
      )
    }
  }
  const counts = countBySeverity(report.findings)
  const accepted = report.baselined.length > 0 ? `; ${report.baselined.length} accepted by the baseline` : ''
  if (report.tenantTables.length === 0) {
    lines.push(
      '',
      `No table has the tenant column ${report.tenantColumn}: nothing was checked for isolation.` +
        (report.suggestedTenantColumns.length > 0
          ? ` Columns that look like tenant keys: ${report.suggestedTenantColumns.join(', ')}.`
          : ''),
    )
  }
  lines.push(
    '',
    report.findings.length === 0
      ? report.baselined.length > 0
        ? `No new findings (${report.baselined.length} accepted by the baseline).`
        : 'No findings: tenant isolation holds for every rule.'
      : `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.info} info${accepted}`,
  )
  return lines.join('\n')
}
