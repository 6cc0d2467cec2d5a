-- Connections the same applications opened since the termination (pools refill), and the
-- client backends now (pgmedic's own excluded).
SELECT coalesce(a.application_name, '') AS application_name, count(*)::int AS n
FROM pg_stat_activity a
WHERE a.pid <> pg_backend_pid()
  AND (a.backend_type = 'client backend'
       OR (a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL))
  AND coalesce(a.application_name, '') = ANY (%(apps)s::text[])
  AND a.backend_start >= to_timestamp(%(since)s::float8)
GROUP BY 1
