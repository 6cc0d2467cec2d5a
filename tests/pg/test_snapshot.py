"""The snapshot against real sessions: counts per application x state, slot figures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import psycopg

from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import collect
from pgmedic.triage.grouping import groups_of
from pgtools import Sessions, wait_until


def run_cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgmedic", *args], capture_output=True,
                          text=True, timeout=60, **kw)


def test_groups_by_application_and_state(dsn: str, sessions: Sessions, unique_app: Any) -> None:
    api, rep = unique_app("api"), unique_app("reporting")
    sessions.many(3, api, "idle")
    sessions.many(2, api, "active")
    sessions.open(rep, "idle in transaction")
    with Connection(dsn) as conn:
        def seen() -> dict[tuple[str, str], int]:
            snap = collect(conn)
            got = {(g.application_name, g.state): g.count for g in groups_of(snap)
                   if g.application_name in (api, rep)}
            return got if sum(got.values()) == 6 and (api, "active") in got else {}
        got = wait_until(seen, message="6 sessions with 2 active")
        assert got == {(api, "idle"): 3, (api, "active"): 2, (rep, "idle in transaction"): 1}
        snap = collect(conn)
        assert conn.backend_pid == snap.own_pid
        assert all(b.pid != snap.own_pid for b in snap.backends)
        assert "pgmedic" not in {b.application_name for b in snap.backends}


def test_snapshot_json_schema_and_figures(dsn: str, sessions: Sessions, unique_app: Any,
                                          admin: psycopg.Connection[Any]) -> None:
    app = unique_app("svc")
    sessions.many(4, app, "idle")
    proc = run_cli("snapshot", "--json", dsn)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    server = data["server"]
    max_c = int(admin.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    su = int(admin.execute("SHOW superuser_reserved_connections").fetchone()[0])  # type: ignore[index]
    assert server["max_connections"] == max_c
    assert server["superuser_reserved_connections"] == su
    assert server["usable_connections"] == max_c - su - server["reserved_connections"]
    clients = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
        "AND application_name <> 'pgmedic'").fetchone()[0]  # type: ignore[index]
    assert server["client_connections"] == clients
    mine = [g for g in data["groups"] if g["application_name"] == app]
    assert mine == [{"application_name": app, "state": "idle", "count": 4,
                     "oldest_seconds": mine[0]["oldest_seconds"], "clients": 1}]
    assert mine[0]["oldest_seconds"] >= 0
    for g in data["groups"]:
        assert set(g) == {"application_name", "state", "count", "oldest_seconds", "clients"}


def test_a_role_idle_session_timeout_does_not_close_pgmedic(
        dsn: str, admin: psycopg.Connection[Any], unique_app: Any) -> None:
    if admin.info.server_version < 140000:
        return  # no idle_session_timeout before PostgreSQL 14: nothing can close it
    role = unique_app("idler").replace("-", "_")
    admin.execute(f'CREATE ROLE "{role}" LOGIN SUPERUSER')
    admin.execute(f"ALTER ROLE \"{role}\" SET idle_session_timeout = '300ms'")
    try:
        conn = Connection(psycopg.conninfo.make_conninfo(dsn, user=role))
        with conn:
            collect(conn)
            # idle for longer than the role's timeout: the time itself is the test
            time.sleep(0.8)
            snap = collect(conn)
            assert snap.own_pid == conn.backend_pid
    finally:
        admin.execute(f'DROP ROLE "{role}"')
