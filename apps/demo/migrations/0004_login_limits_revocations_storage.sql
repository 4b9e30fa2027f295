-- 0004_login_limits_revocations_storage: hand-written. State that must hold across every app server
-- process lives here, not in process memory: failed-login counters and revoked token ids. Also: storage
-- accounting that measures a row the same way on INSERT and DELETE, and the route pattern in audit rows.
-- Platform tables (not tenant data): no RLS, no grants to any role; the login and admin roles reach
-- them only through the SECURITY DEFINER functions below.

-- Failed-login counters: one row per key (address, tenant user + address, operator + address).
CREATE TABLE rowfence.login_throttle (
  key text NOT NULL,
  failures integer NOT NULL DEFAULT 0,
  window_ends timestamptz NOT NULL,
  CONSTRAINT login_throttle_pkey PRIMARY KEY (key)
);
REVOKE ALL ON rowfence.login_throttle FROM PUBLIC;

-- Reserves one attempt on every key, atomically: each key's row is locked (in key order, so concurrent
-- callers cannot deadlock) until the calling statement commits, so a burst of parallel requests is
-- counted one by one. Returns 0 when the attempt may go ahead (counted as a failure until
-- login_attempt_succeeded() says otherwise), else the seconds until the fullest key's window ends.
CREATE FUNCTION rowfence.login_attempt_reserve(keys text[], limits integer[], window_seconds integer)
  RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k record;
  current_failures integer;
  ends timestamptz;
  retry integer := 0;
BEGIN
  IF array_length(keys, 1) IS DISTINCT FROM array_length(limits, 1) THEN
    RAISE EXCEPTION 'keys and limits differ in length' USING ERRCODE = '22023';
  END IF;
  IF random() < 0.01 THEN
    DELETE FROM rowfence.login_throttle WHERE window_ends < now() - interval '1 hour';
  END IF;
  FOR k IN SELECT u.key, u.max FROM unnest(keys, limits) AS u(key, max) ORDER BY u.key LOOP
    INSERT INTO rowfence.login_throttle AS t (key, failures, window_ends)
      VALUES (k.key, 0, now() + make_interval(secs => window_seconds))
    ON CONFLICT (key) DO UPDATE
      SET failures = CASE WHEN t.window_ends <= now() THEN 0 ELSE t.failures END,
          window_ends = CASE WHEN t.window_ends <= now() THEN EXCLUDED.window_ends ELSE t.window_ends END
    RETURNING t.failures, t.window_ends INTO current_failures, ends;
    IF current_failures >= k.max THEN
      retry := greatest(retry, ceil(extract(epoch FROM ends - now()))::integer, 1);
    END IF;
  END LOOP;
  IF retry > 0 THEN
    RETURN retry;
  END IF;
  UPDATE rowfence.login_throttle SET failures = failures + 1 WHERE key = ANY (keys);
  RETURN 0;
END
$$;

-- A reserved attempt that succeeded: it no longer counts against `undo_keys`, and `clear_keys` (the
-- user + address pair that just proved the password) start again from zero.
CREATE FUNCTION rowfence.login_attempt_succeeded(undo_keys text[], clear_keys text[])
  RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE rowfence.login_throttle SET failures = greatest(failures - 1, 0) WHERE key = ANY (undo_keys);
  DELETE FROM rowfence.login_throttle WHERE key = ANY (clear_keys);
$$;

-- Revoked token ids (JWT jti) until the token would have expired anyway.
CREATE TABLE rowfence.revoked_tokens (
  jti uuid NOT NULL,
  expires_at timestamptz NOT NULL,
  CONSTRAINT revoked_tokens_pkey PRIMARY KEY (jti)
);
REVOKE ALL ON rowfence.revoked_tokens FROM PUBLIC;

CREATE FUNCTION rowfence.revoke_token(token_id uuid, token_expires_at timestamptz)
  RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF random() < 0.01 THEN
    DELETE FROM rowfence.revoked_tokens WHERE expires_at < now();
  END IF;
  INSERT INTO rowfence.revoked_tokens (jti, expires_at) VALUES (token_id, token_expires_at)
  ON CONFLICT (jti) DO NOTHING;
END
$$;

CREATE FUNCTION rowfence.token_revoked(token_id uuid)
  RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM rowfence.revoked_tokens WHERE jti = token_id)
$$;

REVOKE ALL ON FUNCTION rowfence.login_attempt_reserve(text[], integer[], integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION rowfence.login_attempt_succeeded(text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION rowfence.revoke_token(uuid, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION rowfence.token_revoked(uuid) FROM PUBLIC;
GRANT USAGE ON SCHEMA rowfence TO rowfence_auth;
GRANT EXECUTE ON FUNCTION rowfence.login_attempt_reserve(text[], integer[], integer) TO rowfence_auth, rowfence_admin;
GRANT EXECUTE ON FUNCTION rowfence.login_attempt_succeeded(text[], text[]) TO rowfence_auth, rowfence_admin;
GRANT EXECUTE ON FUNCTION rowfence.revoke_token(uuid, timestamptz) TO rowfence_auth, rowfence_admin;
GRANT EXECUTE ON FUNCTION rowfence.token_revoked(uuid) TO rowfence_auth, rowfence_admin;

-- Storage accounting, measured the same way on both sides: the length of the row's text form. The old
-- measure, pg_column_size(row), saw a new row uncompressed and the stored row compressed, so every
-- create + delete of a compressible row left bytes behind.
CREATE OR REPLACE FUNCTION rowfence.account_storage() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format(
      'INSERT INTO public.tenant_storage AS s (tenant_id, table_name, row_count, bytes)
         SELECT tenant_id, %L, count(*), sum(octet_length(n.*::text)) FROM new_rows n GROUP BY tenant_id
       ON CONFLICT (tenant_id, table_name) DO UPDATE
         SET row_count = s.row_count + EXCLUDED.row_count, bytes = s.bytes + EXCLUDED.bytes',
      TG_TABLE_NAME);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    EXECUTE format(
      'INSERT INTO public.tenant_storage AS s (tenant_id, table_name, row_count, bytes)
         SELECT tenant_id, %L, -count(*), -sum(octet_length(o.*::text)) FROM old_rows o GROUP BY tenant_id
       ON CONFLICT (tenant_id, table_name) DO UPDATE
         SET row_count = s.row_count + EXCLUDED.row_count, bytes = s.bytes + EXCLUDED.bytes',
      TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END
$$;

-- Recount the existing counters in the new measure. The owner is under FORCEd RLS like every tenant
-- role; for this one maintenance statement it lifts FORCE on the three tables, inside this migration's
-- transaction (no other session sees the tables without it).
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE articles NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tenant_storage NO FORCE ROW LEVEL SECURITY;
UPDATE tenant_storage s
   SET row_count = c.row_count, bytes = c.bytes
  FROM (SELECT tenant_id, 'users' AS table_name, count(*) AS row_count,
               COALESCE(sum(octet_length(u.*::text)), 0) AS bytes
          FROM users u GROUP BY tenant_id
        UNION ALL
        SELECT tenant_id, 'articles', count(*), COALESCE(sum(octet_length(a.*::text)), 0)
          FROM articles a GROUP BY tenant_id) c
 WHERE s.tenant_id = c.tenant_id AND s.table_name = c.table_name;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE articles FORCE ROW LEVEL SECURITY;
ALTER TABLE tenant_storage FORCE ROW LEVEL SECURITY;

-- Audit rows name the route pattern that served the request (e.g. /admin), next to the normalised path.
ALTER TABLE admin_audit ADD COLUMN route text NOT NULL DEFAULT '';
