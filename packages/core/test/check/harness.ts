import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { quoteIdentifier } from '@rowfence/core'
import { checkDatabase, type CheckOptions, type CheckReport, type Finding } from '@rowfence/core/check'
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.ts'

/** One broken (or fixed) schema inside the per-file test database, with its own app role. */
export interface Fixture {
  readonly schema: string
  readonly appRole: string
  /** Runs more SQL as the owner role (placeholders as in `fixture()`). */
  sql(text: string): Promise<void>
  /** Checks the fixture's schema as its app role. */
  check(options?: CheckOptions): Promise<CheckReport>
  /** Findings of one rule as `table` (or `table object`) strings, for exact assertions. */
  fired(ruleId: string, options?: CheckOptions): Promise<string[]>
}

export interface CheckHarness {
  readonly db: TestDatabase
  readonly admin: pg.Pool
  /**
   * Creates a schema and a fresh app role (cluster-wide, random name, dropped by `drop()`), then runs
   * `sql` as the owner role. Placeholders: {schema}, {app}, {owner}, {ctx} (the demo context call).
   */
  fixture(sql: string, options?: { adminSql?: string }): Promise<Fixture>
  /** A role created for this file (dropped by `drop()`). */
  createRole(options?: string): Promise<string>
  drop(): Promise<void>
}

export const CTX = '(SELECT rowfence.current_tenant_id())'

/**
 * Findings other than the `context-forgeable` advisory (info): every fixture here, like the demo, uses the
 * plain context, which that rule reports once per context function (see context-forgeable.test.ts).
 */
export function isolationFindings(findings: readonly Finding[]): Finding[] {
  return findings.filter((finding) => finding.ruleId !== 'context-forgeable')
}

export function describeFindings(findings: readonly Finding[], ruleId: string): string[] {
  return findings
    .filter((finding) => finding.ruleId === ruleId)
    .map((finding) => [finding.table ?? '(database)', finding.object].filter(Boolean).join(' '))
}

/**
 * `signed: true`: on a copy of the demo as it is (the signed context); by default on the demo before
 * its migration 0007, whose plain context functions the fixtures' policies call.
 */
export async function createCheckHarness(options: { signed?: boolean } = {}): Promise<CheckHarness> {
  const db = await createTestDatabase({ plainContext: !options.signed })
  const admin = db.pool('admin')
  const roles: string[] = []
  const suffix = randomBytes(4).toString('hex')
  let counter = 0

  const createRole = async (options = 'NOLOGIN'): Promise<string> => {
    const role = `rf_check_${suffix}_${++counter}`
    await admin.query(`CREATE ROLE ${quoteIdentifier(role)} ${options}`)
    roles.push(role)
    return role
  }

  const fixture = async (sql: string, options: { adminSql?: string } = {}): Promise<Fixture> => {
    const schema = `s${++counter}_${suffix}`
    const appRole = await createRole()
    const fill = (text: string): string =>
      text
        .replaceAll('{schema}', quoteIdentifier(schema))
        .replaceAll('{app}', quoteIdentifier(appRole))
        .replaceAll('{owner}', quoteIdentifier(db.cluster.ownerRole))
        .replaceAll('{ctx}', CTX)
    const asOwner = async (text: string): Promise<void> => {
      const client = await admin.connect()
      try {
        await client.query('BEGIN')
        await client.query(`SET LOCAL ROLE ${quoteIdentifier(db.cluster.ownerRole)}`)
        await client.query(fill(text))
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK')
        throw error
      } finally {
        client.release()
      }
    }
    await asOwner(`
      CREATE SCHEMA {schema};
      GRANT USAGE ON SCHEMA {schema} TO {app};
      GRANT USAGE ON SCHEMA rowfence TO {app};
      GRANT EXECUTE ON FUNCTION rowfence.current_tenant_id(), rowfence.current_user_id() TO {app};
      ${sql}`)
    if (options.adminSql) await admin.query(fill(options.adminSql))
    const check = (checkOptions: CheckOptions = {}): Promise<CheckReport> =>
      checkDatabase(admin, { schema, appRole, ...checkOptions })
    return {
      schema,
      appRole,
      sql: asOwner,
      check,
      fired: async (ruleId, checkOptions) => describeFindings((await check(checkOptions)).findings, ruleId),
    }
  }

  return {
    db,
    admin,
    fixture,
    createRole,
    async drop() {
      await db.drop()
      const client = new pg.Client(db.cluster.adminUrl)
      await client.connect()
      try {
        for (const role of roles.reverse()) await client.query(`DROP ROLE IF EXISTS ${quoteIdentifier(role)}`)
      } finally {
        await client.end()
      }
    },
  }
}

/** A tenant table that passes every rule: FORCED RLS, RESTRICTIVE floor, tenant-leading keys. */
export function goodTable(name: string): string {
  return `
    CREATE TABLE {schema}.${name} (
      tenant_id uuid NOT NULL,
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      CONSTRAINT ${name}_pkey PRIMARY KEY (tenant_id, id)
    );
    ALTER TABLE {schema}.${name} ENABLE ROW LEVEL SECURITY;
    ALTER TABLE {schema}.${name} FORCE ROW LEVEL SECURITY;
    CREATE POLICY ${name}_floor ON {schema}.${name} AS RESTRICTIVE FOR ALL TO PUBLIC
      USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
    CREATE POLICY ${name}_access ON {schema}.${name} AS PERMISSIVE FOR ALL TO PUBLIC
      USING (tenant_id = {ctx}) WITH CHECK (tenant_id = {ctx});
    GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.${name} TO {app};`
}
