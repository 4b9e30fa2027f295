-- 0003_storage_admin_login (Citus flavour): the twin of ../migrations/0003_storage_admin_login.sql for a
-- Citus cluster. Same platform tables, admin and login policies and column grants. One difference:
-- distributed tables cannot have triggers, so storage accounting is not maintained by triggers here.
-- tenant_storage becomes a view that computes the same figures (rows, and bytes as the length of each
-- row's text form, the measure of migration 0004) from the distributed tables when it is read. It is a
-- security_invoker view: the reader's own policies apply to the tables below it, so a tenant sees its own
-- figures and the admin role, through its explicit read policies, every tenant's. Because the reader's
-- column grants apply too, a user row is measured without its password hash (the app role cannot read it).

-- Citus: DDL on the tenant tables runs over their shards one connection at a time in this transaction
-- (the reference table tenants is touched after the distributed ones).
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';

-- The app role reads users without their password hashes.
REVOKE SELECT ON TABLE "users" FROM "rowfence_app";
GRANT SELECT ("tenant_id", "id", "name", "created_at") ON TABLE "users" TO "rowfence_app";

-- Storage accounting computed on demand (no triggers on distributed tables).
DROP TABLE "tenant_storage";
CREATE VIEW "tenant_storage" WITH (security_invoker = true) AS
  SELECT u.tenant_id, 'users'::text AS table_name, count(*)::bigint AS row_count,
         COALESCE(sum(octet_length(ROW(u.tenant_id, u.id, u.name, u.created_at)::text)), 0)::bigint AS bytes
    FROM "users" u GROUP BY u.tenant_id
  UNION ALL
  SELECT a.tenant_id, 'articles'::text, count(*)::bigint, COALESCE(sum(octet_length(a.*::text)), 0)::bigint
    FROM "articles" a GROUP BY a.tenant_id;
REVOKE ALL ON TABLE "tenant_storage" FROM PUBLIC;
GRANT SELECT ON TABLE "tenant_storage" TO "rowfence_app";

-- Platform operators and the audit trail: not tenant data, plain tables on the coordinator. The admin
-- role reads operators (its login) and may only INSERT and SELECT audit rows: append-only. The app role
-- has no access at all.
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
