-- Run as the owner role (never the app role). Two tenants, one tenant table under row-level security.
CREATE TABLE IF NOT EXISTS tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL
);

CREATE OR REPLACE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid $$;

CREATE TABLE IF NOT EXISTS notes (
  tenant_id uuid NOT NULL DEFAULT current_tenant_id() REFERENCES tenants (id),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  body text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS notes_tenant ON notes;
-- No context: current_tenant_id() is NULL and the policy matches nothing.
CREATE POLICY notes_tenant ON notes FOR ALL TO PUBLIC
  USING (tenant_id = (SELECT current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT current_tenant_id()));

INSERT INTO tenants (id, name) VALUES
  ('a0000000-0000-4000-8000-000000000001', 'acme'),
  ('b0000000-0000-4000-8000-000000000002', 'globex')
ON CONFLICT (id) DO NOTHING;
