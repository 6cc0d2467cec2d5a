-- Per-role and per-database connection limits that are set (-1 means none). The sessions
-- counted against them come from the snapshot's own rows (no second scan of
-- pg_stat_activity): hidden rows still show their role and database.
SELECT 'role' AS kind, r.rolname::text AS name, r.rolconnlimit AS lim
FROM pg_roles r
WHERE r.rolconnlimit >= 0 AND r.rolcanlogin
UNION ALL
SELECT 'database', d.datname::text, d.datconnlimit
FROM pg_database d
WHERE d.datconnlimit >= 0 AND d.datallowconn
ORDER BY 1, 2
