-- One row: the server's slot settings and what the current role may see and do.
-- Works on 13-17: settings that a version lacks read as NULL (missing_ok) and roles
-- that do not exist yet are tested with to_regrole first.
SELECT
    current_setting('server_version_num')::int AS version_num,
    split_part(current_setting('server_version'), ' ', 1) AS version,
    current_setting('max_connections')::int AS max_connections,
    current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
    coalesce(current_setting('reserved_connections', true), '0')::int AS reserved_connections,
    current_user::text AS current_user,
    r.rolsuper AS is_superuser,
    r.rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all,
    r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS can_signal,
    r.rolsuper OR CASE
        WHEN to_regrole('pg_use_reserved_connections') IS NULL THEN false
        ELSE pg_has_role(current_user, 'pg_use_reserved_connections', 'USAGE')
    END AS can_use_reserved,
    coalesce(current_setting('idle_session_timeout', true), '0') AS idle_session_timeout,
    current_setting('idle_in_transaction_session_timeout') AS idle_in_transaction_session_timeout,
    current_database()::text AS database,
    pg_backend_pid() AS own_pid,
    extract(epoch FROM clock_timestamp())::float8 AS now
FROM pg_roles r
WHERE r.rolname = current_user
