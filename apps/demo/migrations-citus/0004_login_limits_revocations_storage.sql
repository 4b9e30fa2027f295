-- 0004_login_limits_revocations_storage (Citus flavour): the twin of
-- ../migrations/0004_login_limits_revocations_storage.sql for a Citus cluster: the same login throttle and
-- token revocation (platform tables on the coordinator, reached through SECURITY DEFINER functions) and the
-- audit route column. The storage part of the original (a new measure for the triggers, and a recount) has
-- no twin: on Citus tenant_storage is a view that already uses that measure (0003).

-- Citus: DDL on the tenant tables runs over their shards one connection at a time in this transaction
-- (the reference table tenants is touched after the distributed ones).
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';

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

-- Audit rows name the route pattern that served the request (e.g. /admin), next to the normalised path.
ALTER TABLE admin_audit ADD COLUMN route text NOT NULL DEFAULT '';
