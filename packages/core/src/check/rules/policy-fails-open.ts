import type { Rule } from '../types.ts'
import { readSideFindings } from './read-side.ts'

export const policyFailsOpen: Rule = {
  id: 'policy-fails-open',
  severity: 'error',
  summary:
    "A policy matches every row: USING (true), IS NULL / '' on an unset context, or a bypass setting the app can flip",
  check: ({ analysis }) =>
    readSideFindings(policyFailsOpen, analysis, (verdict) =>
      ['always', 'fails-open', 'bypass'].includes(verdict.kind),
    ),
}
