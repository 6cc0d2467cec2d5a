"""Least privilege: without pg_monitor other roles' rows hide their state; never undercount."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import collect
from pgtools import Sessions, dsn_as, wait_until


@pytest.fixture
def plain_role(admin: psycopg.Connection[Any], unique_app: Any) -> Iterator[str]:
    name = unique_app("viewer").replace("-", "_")
    admin.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                  (name,))
    wait_until(lambda: admin.execute("SELECT count(*) = 0 FROM pg_stat_activity "
                                     "WHERE usename = %s", (name,)).fetchone()[0],  # type: ignore[index]
               message="the role's sessions to end")
    admin.execute(f'DROP ROLE "{name}"')


def test_hidden_rows_are_counted_not_dropped(dsn: str, plain_role: str, sessions: Sessions,
                                             unique_app: Any, admin: psycopg.Connection[Any],
                                             ) -> None:
    app = unique_app("other-role")
    sessions.many(3, app, "idle")  # superuser sessions: hidden from the plain role
    with Connection(dsn_as(dsn, user=plain_role)) as conn:
        snap = collect(conn)
        assert not snap.server.sees_all
        mine = [b for b in snap.backends if b.application_name == app]
        assert len(mine) == 3
        assert {b.state for b in mine} == {"(hidden)"}
        total = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                              "'client backend' AND pid <> %s", (conn.backend_pid,)).fetchone()
        assert total is not None
        assert snap.client_connections == total[0]  # the same total a superuser sees
        assert snap.hidden >= 3
    viewer = dsn_as(dsn, user=plain_role)
    proc = subprocess.run([sys.executable, "-m", "pgmedic", "snapshot", viewer],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "hidden" in proc.stdout and "GRANT pg_monitor" in proc.stdout
    data = json.loads(subprocess.run(
        [sys.executable, "-m", "pgmedic", "snapshot", "--json", dsn_as(dsn, user=plain_role)],
        capture_output=True, text=True, timeout=60).stdout)
    assert data["server"]["hidden_connections"] >= 3
    assert data["server"]["sees_all"] is False


def test_pg_monitor_reveals_the_states(dsn: str, plain_role: str, sessions: Sessions,
                                       unique_app: Any, admin: psycopg.Connection[Any]) -> None:
    app = unique_app("seen")
    sessions.many(2, app, "idle")
    admin.execute(f'GRANT pg_monitor TO "{plain_role}"')
    with Connection(dsn_as(dsn, user=plain_role)) as conn:
        snap = collect(conn)
        assert snap.server.sees_all
        assert {b.state for b in snap.backends if b.application_name == app} == {"idle"}
