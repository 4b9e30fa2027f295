-- rowfence foundation: context functions, tenants, items, row-level security.
-- Runs as the owner role. The app role (rowfence_app) gets DML only; RLS is FORCED so the owner is
-- filtered too, and every policy reads the tenant through one STABLE function called as (SELECT ...),
-- which PostgreSQL evaluates once per query (an InitPlan), not once per row.

CREATE SCHEMA IF NOT EXISTS rowfence;
REVOKE ALL ON SCHEMA rowfence FROM PUBLIC;
GRANT USAGE ON SCHEMA rowfence TO rowfence_app;

-- Fail closed: no context -> NULL -> "tenant_id = NULL" matches nothing. A connection that once set the
-- setting reads '' afterwards, hence NULLIF (''::uuid would raise).
CREATE FUNCTION rowfence.current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('rowfence.tenant_id', true), '')::uuid $$;

CREATE FUNCTION rowfence.current_user_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('rowfence.user_id', true), '')::uuid $$;

REVOKE ALL ON FUNCTION rowfence.current_tenant_id(), rowfence.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowfence.current_tenant_id(), rowfence.current_user_id() TO rowfence_app;

CREATE TABLE tenants (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  CONSTRAINT tenants_pkey PRIMARY KEY (id),
  -- Tenant names are global (login picks a tenant by name); only the owner role can insert tenants.
  CONSTRAINT tenants_name_key UNIQUE (name),
  CONSTRAINT tenants_name_check CHECK (length(name) BETWEEN 1 AND 200)
);

CREATE TABLE items (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  title text NOT NULL,
  CONSTRAINT items_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT items_title_key UNIQUE (tenant_id, title),
  CONSTRAINT items_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
  CONSTRAINT items_title_check CHECK (length(title) BETWEEN 1 AND 500)
);

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;

-- The floor: RESTRICTIVE, so no permissive policy added later can widen it.
CREATE POLICY tenants_tenant_floor ON tenants AS RESTRICTIVE FOR ALL TO PUBLIC
  USING (id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY tenants_tenant_access ON tenants AS PERMISSIVE FOR ALL TO PUBLIC
  USING (id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (id = (SELECT rowfence.current_tenant_id()));

CREATE POLICY items_tenant_floor ON items AS RESTRICTIVE FOR ALL TO PUBLIC
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY items_tenant_access ON items AS PERMISSIVE FOR ALL TO PUBLIC
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));

REVOKE ALL ON tenants, items FROM PUBLIC;
GRANT SELECT ON tenants TO rowfence_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO rowfence_app;
