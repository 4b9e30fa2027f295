-- 0003_storage_admin_login: hand-written, next to the generated migrations. It holds what the schema
-- generator does not express: the storage-accounting triggers, the platform tables (operators, audit),
-- the admin and login roles' own explicit policies, and column grants that keep password hashes away from
-- the app role. Roles rowfence_admin and rowfence_auth are created by provisioning, like rowfence_app.

-- The app role reads users without their password hashes.
REVOKE SELECT ON TABLE "users" FROM "rowfence_app";
GRANT SELECT ("tenant_id", "id", "name", "created_at") ON TABLE "users" TO "rowfence_app";

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

REVOKE ALL ON platform_operators, admin_audit FROM PUBLIC;

GRANT USAGE ON SCHEMA rowfence TO rowfence_admin;
GRANT SELECT ON tenants, articles, tenant_storage TO rowfence_admin;
GRANT SELECT (tenant_id, id, name, created_at) ON users TO rowfence_admin;
GRANT SELECT ON platform_operators TO rowfence_admin;
GRANT SELECT, INSERT ON admin_audit TO rowfence_admin;

GRANT SELECT (id, name) ON tenants TO rowfence_auth;
GRANT SELECT (tenant_id, id, name, password_hash) ON users TO rowfence_auth;
