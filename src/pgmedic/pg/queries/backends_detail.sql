-- The backends of one application (drill-down), with their query text.
SELECT
    a.pid,
    coalesce(a.application_name, '') AS application_name,
    a.usename::text,
    a.datname::text,
    host(a.client_addr) AS client_addr,
    a.client_port,
    CASE WHEN a.backend_type IS NULL THEN '(hidden)' ELSE coalesce(a.state, 'unknown') END AS state,
    extract(epoch FROM a.backend_start)::float8 AS backend_start,
    extract(epoch FROM a.state_change)::float8 AS state_change,
    extract(epoch FROM a.xact_start)::float8 AS xact_start,
    CASE WHEN a.wait_event IS NULL THEN NULL ELSE a.wait_event_type || ':' || a.wait_event END
        AS wait_event,
    coalesce(r.rolsuper, false) AS superuser,
    left(a.query, %(query_chars)s) AS query
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid <> pg_backend_pid()
  AND (a.backend_type = 'client backend'
       OR (a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL))
  AND coalesce(a.application_name, '') = ANY(%(apps)s)
ORDER BY a.backend_start, a.pid
