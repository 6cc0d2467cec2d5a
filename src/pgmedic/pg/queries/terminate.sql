-- Terminate exactly the previewed backends, in one statement. Each target is re-checked
-- against pg_stat_activity first, in this order, and only a target that passes every guard
-- is signalled (CASE evaluates its branches in order, so pg_terminate_backend is never
-- called for the others):
--   own        pgmedic's own backend, never
--   gone       no backend with that pid any more
--   hidden     its state is not visible to this role
--   changed    the pid belongs to another session now (backend_start differs: pid reuse)
--   renamed    application_name changed since the preview
--   busy       no longer in a targeted state, or not idle long enough
--   superuser  a superuser's session not explicitly included by a superuser
--   denied     this role may not signal it (a permission ERROR would abort the statement)
-- client_before counts client backends (pgmedic's own excluded) in the same snapshot.
WITH me AS (
    SELECT r.rolsuper AS is_super,
           r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS can_signal
    FROM pg_roles r
    WHERE r.rolname = current_user
),
t AS (
    SELECT *
    FROM unnest(%(pids)s::int[], %(starts)s::float8[], %(apps)s::text[])
        AS t(pid, backend_start, application_name)
),
before AS (
    SELECT count(*)::int AS n
    FROM pg_stat_activity a
    WHERE a.pid <> pg_backend_pid()
      AND (a.backend_type = 'client backend'
           OR (a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL))
),
checked AS (
    SELECT
        t.pid,
        CASE
            WHEN t.pid = pg_backend_pid() THEN 'own'
            WHEN a.pid IS NULL THEN 'gone'
            WHEN a.backend_type IS NULL THEN 'hidden'
            WHEN a.backend_type <> 'client backend' THEN 'changed'
            WHEN extract(epoch FROM a.backend_start)::float8 IS DISTINCT FROM t.backend_start
                THEN 'changed'
            WHEN coalesce(a.application_name, '') <> t.application_name THEN 'renamed'
            WHEN a.state IS NULL OR NOT (a.state = ANY (%(states)s::text[])) THEN 'busy'
            WHEN a.state_change IS NULL
                 OR a.state_change > clock_timestamp() - make_interval(secs => %(idle_for)s::float8)
                THEN 'busy'
            WHEN r.oid IS NULL THEN 'denied'
            WHEN r.rolsuper AND NOT (me.is_super AND %(include_superusers)s::bool) THEN 'superuser'
            WHEN NOT (me.is_super OR me.can_signal OR pg_has_role(r.oid, 'USAGE')) THEN 'denied'
            ELSE 'ok'
        END AS verdict
    FROM t
    CROSS JOIN me
    LEFT JOIN pg_stat_activity a ON a.pid = t.pid
    LEFT JOIN pg_roles r ON r.oid = a.usesysid
)
SELECT
    c.pid,
    CASE
        WHEN c.verdict <> 'ok' THEN c.verdict
        WHEN pg_terminate_backend(c.pid) THEN 'terminated'
        ELSE 'failed'
    END AS result,
    before.n AS client_before,
    extract(epoch FROM clock_timestamp())::float8 AS at
FROM checked c
CROSS JOIN before
