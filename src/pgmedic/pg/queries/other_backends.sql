-- Backends that are not client sessions, counted by type (they have slots of their own).
SELECT coalesce(backend_type, 'unknown') AS backend_type, count(*)::int AS n
FROM pg_stat_activity
WHERE pid <> pg_backend_pid()
  AND backend_type IS DISTINCT FROM 'client backend'
  AND NOT (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL)
GROUP BY 1
ORDER BY 2 DESC
