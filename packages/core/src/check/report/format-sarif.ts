/**
 * SARIF 2.1.0 for code-scanning UIs. A database has no source files, so results carry logical
 * locations (`database/schema.table`) rather than physical ones.
 */
import type { CheckReport } from '../check-database.ts'
import type { Finding, Severity } from '../types.ts'

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json'

const levels: Record<Severity, 'error' | 'warning' | 'note'> = {
  error: 'error',
  warning: 'warning',
  info: 'note',
}

const pascalCase = (id: string): string =>
  id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')

export interface SarifLog {
  readonly $schema: string
  readonly version: '2.1.0'
  readonly runs: readonly unknown[]
}

export function toSarif(report: CheckReport): SarifLog {
  const ruleIndex = new Map(report.rules.map((rule, index) => [rule.id, index]))
  const result = (finding: Finding, baselined: boolean): Record<string, unknown> => ({
    ruleId: finding.ruleId,
    ...(ruleIndex.has(finding.ruleId) ? { ruleIndex: ruleIndex.get(finding.ruleId) } : {}),
    level: levels[finding.severity],
    message: { text: `${finding.message}\nFix:\n${finding.fix}` },
    locations: [
      {
        logicalLocations: [
          finding.table === null
            ? { name: report.database, fullyQualifiedName: report.database, kind: 'namespace' }
            : {
                name: finding.table.slice(finding.table.indexOf('.') + 1),
                fullyQualifiedName: `${report.database}/${finding.table}`,
                kind: 'table',
              },
        ],
      },
    ],
    partialFingerprints: { 'rowfence/v1': finding.fingerprint },
    properties: {
      object: finding.object,
      fix: finding.fix,
      fixStatus: finding.fixStatus,
      ...(finding.fixNote === undefined ? {} : { fixNote: finding.fixNote }),
    },
    ...(baselined
      ? { suppressions: [{ kind: 'external', justification: 'accepted in the rowfence baseline' }] }
      : {}),
  })
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            rules: report.rules.map((rule) => ({
              id: rule.id,
              name: pascalCase(rule.id),
              shortDescription: { text: rule.summary },
              defaultConfiguration: { level: levels[rule.severity] },
              help: { text: rule.summary },
            })),
          },
        },
        results: [
          ...report.findings.map((finding) => result(finding, false)),
          ...report.baselined.map((finding) => result(finding, true)),
        ],
        properties: {
          database: report.database,
          schema: report.schema,
          schemas: report.schemas,
          appRole: report.appRole,
          tenantColumn: report.tenantColumn,
        },
      },
    ],
  }
}

export function formatSarif(report: CheckReport): string {
  return JSON.stringify(toSarif(report), null, 2)
}
