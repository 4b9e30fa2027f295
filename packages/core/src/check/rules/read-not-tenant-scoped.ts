import type { Rule } from '../types.ts'
import { readSideFindings } from './read-side.ts'

export const readNotTenantScoped: Rule = {
  id: 'read-not-tenant-scoped',
  severity: 'error',
  summary: 'A policy lets the app role read rows without pinning the tenant column to the context',
  check: ({ analysis }) =>
    readSideFindings(readNotTenantScoped, analysis, (verdict) => verdict.kind === 'not-scoped'),
}
