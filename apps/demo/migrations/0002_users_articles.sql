-- The tenants -> users -> articles app: author-only writes, per-tenant storage accounting, a separate
-- admin role with explicit read policies and an append-only audit table, and a login role.
-- Roles (created by provisioning, like rowfence_app): rowfence_admin, rowfence_auth.

-- Tenant floors apply to the roles that act AS a tenant (the app, and the owner when it seeds). The admin
-- and login roles are not tenants: they get their own explicit, read-only policies below.
ALTER POLICY tenants_tenant_floor ON tenants TO rowfence_app, rowfence_owner;
ALTER POLICY tenants_tenant_access ON tenants TO rowfence_app, rowfence_owner;
ALTER POLICY items_tenant_floor ON items TO rowfence_app, rowfence_owner;
ALTER POLICY items_tenant_access ON items TO rowfence_app, rowfence_owner;

CREATE TABLE users (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT users_name_key UNIQUE (tenant_id, name),
  CONSTRAINT users_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
  CONSTRAINT users_name_check CHECK (length(name) BETWEEN 1 AND 100)
);

CREATE TABLE articles (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  pages integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT articles_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT articles_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
  CONSTRAINT articles_title_check CHECK (length(title) BETWEEN 1 AND 200),
  CONSTRAINT articles_body_check CHECK (length(body) <= 20000),
  CONSTRAINT articles_pages_check CHECK (pages BETWEEN 0 AND 100000)
);
CREATE INDEX articles_tenant_user_idx ON articles (tenant_id, user_id);

-- Storage accounting: rows and bytes per tenant and table, kept by statement-level triggers.
CREATE TABLE tenant_storage (
  tenant_id uuid NOT NULL,
  table_name text NOT NULL,
  row_count bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0,
  CONSTRAINT tenant_storage_pkey PRIMARY KEY (tenant_id, table_name),
  CONSTRAINT tenant_storage_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE articles ENABLE ROW LEVEL SECURITY;
ALTER TABLE articles FORCE ROW LEVEL SECURITY;
ALTER TABLE tenant_storage ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_storage FORCE ROW LEVEL SECURITY;

-- users: the tenant reads its users; only the owner (seeding, in a tenant context) writes them.
CREATE POLICY users_tenant_floor ON users AS RESTRICTIVE FOR ALL TO rowfence_app, rowfence_owner
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY users_tenant_read ON users AS PERMISSIVE FOR SELECT TO rowfence_app
  USING (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY users_owner_write ON users AS PERMISSIVE FOR ALL TO rowfence_owner
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));

-- articles: colleagues read; only the author inserts, updates, deletes. Every WITH CHECK re-checks
-- tenant_id itself (an explicit WITH CHECK replaces the USING-derived one).
CREATE POLICY articles_tenant_floor ON articles AS RESTRICTIVE FOR ALL TO rowfence_app, rowfence_owner
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY articles_tenant_read ON articles AS PERMISSIVE FOR SELECT TO rowfence_app
  USING (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY articles_author_insert ON articles AS PERMISSIVE FOR INSERT TO rowfence_app
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()) AND user_id = (SELECT rowfence.current_user_id()));
CREATE POLICY articles_author_update ON articles AS PERMISSIVE FOR UPDATE TO rowfence_app
  USING (tenant_id = (SELECT rowfence.current_tenant_id()) AND user_id = (SELECT rowfence.current_user_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()) AND user_id = (SELECT rowfence.current_user_id()));
CREATE POLICY articles_author_delete ON articles AS PERMISSIVE FOR DELETE TO rowfence_app
  USING (tenant_id = (SELECT rowfence.current_tenant_id()) AND user_id = (SELECT rowfence.current_user_id()));
CREATE POLICY articles_owner_write ON articles AS PERMISSIVE FOR ALL TO rowfence_owner
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));

-- tenant_storage: the tenant reads its figures; only the accounting trigger (running as the owner) writes.
CREATE POLICY tenant_storage_tenant_floor ON tenant_storage AS RESTRICTIVE FOR ALL TO rowfence_app, rowfence_owner
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY tenant_storage_tenant_read ON tenant_storage AS PERMISSIVE FOR SELECT TO rowfence_app
  USING (tenant_id = (SELECT rowfence.current_tenant_id()));
CREATE POLICY tenant_storage_owner_write ON tenant_storage AS PERMISSIVE FOR ALL TO rowfence_owner
  USING (tenant_id = (SELECT rowfence.current_tenant_id()))
  WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()));

-- Statement-level triggers with transition tables: one upsert per tenant per statement. The upsert
-- (INSERT ... ON CONFLICT DO UPDATE SET x = x + delta) takes the counter row's lock, so concurrent writers
-- serialize on it and no increment is lost. SECURITY DEFINER so the app role needs no write grant on the
-- counters; EXECUTE is revoked from PUBLIC (firing a trigger does not need it). The owner is itself
-- under FORCEd RLS, so it can only touch the counters of the tenant in context.
CREATE FUNCTION rowfence.account_storage() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format(
      'INSERT INTO public.tenant_storage AS s (tenant_id, table_name, row_count, bytes)
         SELECT tenant_id, %L, count(*), sum(pg_column_size(n.*)) FROM new_rows n GROUP BY tenant_id
       ON CONFLICT (tenant_id, table_name) DO UPDATE
         SET row_count = s.row_count + EXCLUDED.row_count, bytes = s.bytes + EXCLUDED.bytes',
      TG_TABLE_NAME);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    EXECUTE format(
      'INSERT INTO public.tenant_storage AS s (tenant_id, table_name, row_count, bytes)
         SELECT tenant_id, %L, -count(*), -sum(pg_column_size(o.*)) FROM old_rows o GROUP BY tenant_id
       ON CONFLICT (tenant_id, table_name) DO UPDATE
         SET row_count = s.row_count + EXCLUDED.row_count, bytes = s.bytes + EXCLUDED.bytes',
      TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION rowfence.account_storage() FROM PUBLIC;

CREATE TRIGGER users_storage_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rowfence.account_storage();
CREATE TRIGGER users_storage_update AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rowfence.account_storage();
CREATE TRIGGER users_storage_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rowfence.account_storage();
CREATE TRIGGER articles_storage_insert AFTER INSERT ON articles REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rowfence.account_storage();
CREATE TRIGGER articles_storage_update AFTER UPDATE ON articles REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rowfence.account_storage();
CREATE TRIGGER articles_storage_delete AFTER DELETE ON articles REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rowfence.account_storage();

-- Platform operators and the audit trail: not tenant data. The admin role reads operators (its login)
-- and may only INSERT and SELECT audit rows: append-only. The app role has no access at all.
CREATE TABLE platform_operators (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT platform_operators_pkey PRIMARY KEY (id),
  CONSTRAINT platform_operators_name_key UNIQUE (name)
);

CREATE TABLE admin_audit (
  id bigint GENERATED ALWAYS AS IDENTITY,
  operator_id uuid NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  method text NOT NULL,
  path text NOT NULL,
  tenants uuid[] NOT NULL DEFAULT '{}',
  CONSTRAINT admin_audit_pkey PRIMARY KEY (id),
  CONSTRAINT admin_audit_operator_fkey FOREIGN KEY (operator_id) REFERENCES platform_operators (id)
);

-- The admin role: explicit read-only policies across tenants. Not BYPASSRLS, no setting to flip.
CREATE POLICY tenants_admin_read ON tenants AS PERMISSIVE FOR SELECT TO rowfence_admin USING (true);
CREATE POLICY users_admin_read ON users AS PERMISSIVE FOR SELECT TO rowfence_admin USING (true);
CREATE POLICY articles_admin_read ON articles AS PERMISSIVE FOR SELECT TO rowfence_admin USING (true);
CREATE POLICY tenant_storage_admin_read ON tenant_storage AS PERMISSIVE FOR SELECT TO rowfence_admin USING (true);

-- The login role: resolves tenant name + user name to ids and a password hash, nothing else.
CREATE POLICY tenants_auth_read ON tenants AS PERMISSIVE FOR SELECT TO rowfence_auth USING (true);
CREATE POLICY users_auth_read ON users AS PERMISSIVE FOR SELECT TO rowfence_auth USING (true);

REVOKE ALL ON users, articles, tenant_storage, platform_operators, admin_audit FROM PUBLIC;
GRANT SELECT (tenant_id, id, name, created_at) ON users TO rowfence_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON articles TO rowfence_app;
GRANT SELECT ON tenant_storage TO rowfence_app;

GRANT USAGE ON SCHEMA rowfence TO rowfence_admin;
GRANT SELECT ON tenants, articles, tenant_storage TO rowfence_admin;
GRANT SELECT (tenant_id, id, name, created_at) ON users TO rowfence_admin;
GRANT SELECT ON platform_operators TO rowfence_admin;
GRANT SELECT, INSERT ON admin_audit TO rowfence_admin;

GRANT SELECT (id, name) ON tenants TO rowfence_auth;
GRANT SELECT (tenant_id, id, name, password_hash) ON users TO rowfence_auth;
