-- Every backend but pgmedic's own, in ONE scan of pg_stat_activity (each scan reads every
-- backend's status: at thousands of backends a refresh must not pay for it three times).
-- ``kind`` is 'client' for client sessions, else the backend_type (autovacuum, walsender,
-- parallel worker... counted apart: they have slots of their own).
-- The refresh passes apps = NULL and query_chars = 0: slim rows (no query text), about a
-- hundred bytes each. The drill-down passes the applications it shows and how much query
-- text to keep.
-- Rows the role may not see (no pg_read_all_stats) have a NULL backend_type and state; they
-- are kept, marked '(hidden)', never dropped: a hidden row with a database and a role is a
-- client session of another role.
SELECT
    CASE
        WHEN a.backend_type = 'client backend'
             OR (a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL)
            THEN 'client'
        ELSE coalesce(a.backend_type, 'unknown')
    END AS kind,
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
    CASE WHEN %(query_chars)s::int > 0 THEN left(a.query, %(query_chars)s::int) END AS query
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid <> pg_backend_pid()
  AND (%(apps)s::text[] IS NULL OR coalesce(a.application_name, '') = ANY (%(apps)s::text[]))
