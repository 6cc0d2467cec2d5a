-- The preview of a termination: client backends of the named applications (exact names,
-- or service prefixes that triage/targets.py narrows to replica suffixes), optionally of one
-- database and one role, with whether the operator may signal each one. pgmedic's own
-- backend and every non-client backend (autovacuum, walsender, parallel workers...) are
-- left out here; rows whose state is hidden from the operator are kept, marked '(hidden)',
-- so they can be reported as skipped rather than silently missed.
-- can_signal mirrors the server's own rule (signalfuncs.c): a superuser may signal anyone;
-- otherwise never a superuser's backend, and only with pg_signal_backend or the privileges
-- of the target's role.
WITH me AS (
    SELECT r.rolsuper AS is_super,
           r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS can_signal
    FROM pg_roles r
    WHERE r.rolname = current_user
)
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
    coalesce(r.rolsuper, false) AS superuser,
    CASE
        WHEN me.is_super THEN true
        WHEN r.oid IS NULL OR r.rolsuper THEN false
        ELSE me.can_signal OR pg_has_role(r.oid, 'USAGE')
    END AS can_signal
FROM pg_stat_activity a
CROSS JOIN me
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.pid <> pg_backend_pid()
  AND (a.backend_type = 'client backend'
       OR (a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL))
  AND (coalesce(a.application_name, '') = ANY (%(apps)s::text[])
       OR EXISTS (SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p(prefix)
                  WHERE starts_with(coalesce(a.application_name, ''), p.prefix)))
  AND (%(database)s::text IS NULL OR a.datname = %(database)s::text)
  AND (%(user)s::text IS NULL OR a.usename = %(user)s::text)
