import type { Rule } from '../types.ts'
import { appRoleBypassesRls } from './app-role-bypasses-rls.ts'
import { citusPolicySubquery } from './citus-policy-subquery.ts'
import { citusRestrictivePolicy } from './citus-restrictive-policy.ts'
import { citusTenantTableNotCoLocated } from './citus-tenant-table-not-co-located.ts'
import { citusUniqueWithoutDistributionColumn } from './citus-unique-without-distribution-column.ts'
import { contextForgeable } from './context-forgeable.ts'
import { contextReadPerRow } from './context-read-per-row.ts'
import { foreignKeyWithoutTenant } from './foreign-key-without-tenant.ts'
import { missingPolicyForCommand } from './missing-policy-for-command.ts'
import { noTenantIndex } from './no-tenant-index.ts'
import { policyFailsOpen } from './policy-fails-open.ts'
import { readNotTenantScoped } from './read-not-tenant-scoped.ts'
import { rlsNotEnabled } from './rls-not-enabled.ts'
import { rlsNotForced } from './rls-not-forced.ts'
import { securityDefinerFunction } from './security-definer-function.ts'
import { sharedSequenceDefault } from './shared-sequence-default.ts'
import { truncateOrReferencesGranted } from './truncate-or-references-granted.ts'
import { uniqueWithoutTenant } from './unique-without-tenant.ts'
import { unscopedTableReadable } from './unscoped-table-readable.ts'
import { viewBypassesRls } from './view-bypasses-rls.ts'
import { volatileOrLeakyContext } from './volatile-or-leaky-context.ts'
import { writeNotTenantChecked } from './write-not-tenant-checked.ts'

/**
 * Every rule, in the order of issue 7, plus read-not-tenant-scoped (the read-side twin of rule 5) and
 * unscoped-table-readable (issue 15), context-forgeable (issue 18), and the Citus rules (issue 14; they pass
 * on databases without Citus).
 */
export const checkRules: readonly Rule[] = [
  rlsNotEnabled,
  rlsNotForced,
  appRoleBypassesRls,
  missingPolicyForCommand,
  writeNotTenantChecked,
  policyFailsOpen,
  contextReadPerRow,
  volatileOrLeakyContext,
  uniqueWithoutTenant,
  foreignKeyWithoutTenant,
  noTenantIndex,
  viewBypassesRls,
  securityDefinerFunction,
  sharedSequenceDefault,
  truncateOrReferencesGranted,
  readNotTenantScoped,
  unscopedTableReadable,
  contextForgeable,
  citusTenantTableNotCoLocated,
  citusPolicySubquery,
  citusRestrictivePolicy,
  citusUniqueWithoutDistributionColumn,
]
