-- After a termination: how many of the terminated backends still exist (same pid and
-- backend_start), and how many client backends there are now (pgmedic's own excluded).
WITH t AS (
    SELECT *
    FROM unnest(%(pids)s::int[], %(starts)s::float8[]) AS t(pid, backend_start)
)
SELECT
    (SELECT count(*)
     FROM t
     JOIN pg_stat_activity a
       ON a.pid = t.pid AND extract(epoch FROM a.backend_start)::float8 = t.backend_start
    )::int AS still_running,
    (SELECT count(*)
     FROM pg_stat_activity a
     WHERE a.pid <> pg_backend_pid()
       AND (a.backend_type = 'client backend'
            OR (a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL))
    )::int AS client_backends
