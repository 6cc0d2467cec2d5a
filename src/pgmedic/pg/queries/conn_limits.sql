-- Per-role and per-database connection limits that are set (-1 means none), with the
-- client backends counted against them (pgmedic's own excluded).
WITH clients AS (
    SELECT usesysid, datid
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid()
      AND (backend_type = 'client backend'
           OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL))
)
SELECT 'role' AS kind, r.rolname::text AS name, r.rolconnlimit AS lim,
       (SELECT count(*) FROM clients c WHERE c.usesysid = r.oid)::int AS current
FROM pg_roles r
WHERE r.rolconnlimit >= 0 AND r.rolcanlogin
UNION ALL
SELECT 'database', d.datname::text, d.datconnlimit,
       (SELECT count(*) FROM clients c WHERE c.datid = d.oid)::int
FROM pg_database d
WHERE d.datconnlimit >= 0 AND d.datallowconn
ORDER BY 1, 2
