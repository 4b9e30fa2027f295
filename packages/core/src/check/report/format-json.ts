import { countBySeverity, type CheckReport } from '../check-database.ts'

/** Machine output: the report as JSON (stable key order, findings as data). */
export function formatJson(report: CheckReport): string {
  return JSON.stringify(
    {
      tool: report.tool,
      database: report.database,
      schema: report.schema,
      schemas: report.schemas,
      appRole: report.appRole,
      tenantColumn: report.tenantColumn,
      serverVersion: report.serverVersion,
      tenantTables: report.tenantTables,
      suggestedTenantColumns: report.suggestedTenantColumns,
      summary: { ...countBySeverity(report.findings), baselined: report.baselined.length },
      findings: report.findings,
      baselined: report.baselined,
    },
    null,
    2,
  )
}
