/**
 * Run as the owner: a table for request-transaction and middleware tests, under the same RLS floor as the
 * demo tables, with a unique title per tenant that is only checked at COMMIT (DEFERRABLE INITIALLY
 * DEFERRED), so a test can make COMMIT itself fail.
 */
export const requestFixtureSql = `
  CREATE TABLE request_notes (
    tenant_id uuid NOT NULL DEFAULT rowfence.current_tenant_id() REFERENCES tenants (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    title text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT request_notes_title_unique UNIQUE (tenant_id, title) DEFERRABLE INITIALLY DEFERRED
  );
  ALTER TABLE request_notes ENABLE ROW LEVEL SECURITY;
  ALTER TABLE request_notes FORCE ROW LEVEL SECURITY;
  CREATE POLICY request_notes_floor ON request_notes AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT rowfence.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
  CREATE POLICY request_notes_access ON request_notes AS PERMISSIVE FOR ALL TO PUBLIC
    USING (tenant_id = (SELECT rowfence.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
  GRANT SELECT, INSERT, UPDATE, DELETE ON request_notes TO rowfence_app;`
