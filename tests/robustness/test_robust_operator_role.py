"""Least privilege (issue 9, item 3): the operator role of docs/operator-role.md, created by
running that file's SQL and server settings as written, on a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgmedic import cli
from pgmedic.demo.server import EmbeddedServer
from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import collect
from pgtools import wait_until

DOC = Path(__file__).resolve().parents[2] / "docs" / "operator-role.md"
BLOCK = re.compile(r"^```(?P<info>\w*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def doc_blocks(info: str) -> list[str]:
    return [m["body"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))
            if m["info"] == info]


def doc_settings() -> dict[str, str]:
    out: dict[str, str] = {}
    for body in doc_blocks("ini"):
        for line in body.splitlines():
            key, _, value = line.partition("=")
            if key.strip() and not key.strip().startswith("#"):
                out[key.strip()] = value.strip().strip("'")
    return out


@pytest.fixture(scope="module")
def srv() -> Iterator[EmbeddedServer]:
    # 8 slots: 2 for superusers, the documented reserved ones, the rest ordinary
    with EmbeddedServer(max_connections=8, superuser_reserved_connections=2,
                        settings=doc_settings()) as server:
        with psycopg.connect(server.dsn(), autocommit=True) as c:
            version = c.info.server_version
            if version < 160000:
                pytest.skip("pg_use_reserved_connections needs PostgreSQL 16")
            c.execute("CREATE ROLE app LOGIN")
            for i, body in enumerate(doc_blocks("sql")):
                # the first block is for every version, the second for 16+
                if i == 0 or version >= 160000:
                    c.execute(body)
        yield server


def test_the_doc_has_the_sql_and_the_setting() -> None:
    sql = "\n".join(doc_blocks("sql"))
    for stmt in ("CREATE ROLE triage LOGIN;", "GRANT pg_monitor TO triage;",
                 "GRANT pg_signal_backend TO triage;",
                 "GRANT pg_use_reserved_connections TO triage;"):
        assert stmt in sql
    assert doc_settings() == {"reserved_connections": "2"}


def test_triage_sees_every_state(srv: EmbeddedServer) -> None:
    with psycopg.connect(srv.dsn(user="app"), autocommit=True, application_name="app-idle"), \
            psycopg.connect(srv.dsn(), autocommit=True, application_name="su-idle"):
        with Connection(srv.dsn(user="triage")) as conn:
            snap = collect(conn)
        assert snap.server.sees_all and snap.server.can_signal and not snap.server.is_superuser
        assert snap.server.can_use_reserved and snap.server.reserved_connections == 2
        assert snap.hidden == 0
        states = {(b.application_name, b.state) for b in snap.backends}
        assert {("app-idle", "idle"), ("su-idle", "idle")} <= states


def test_triage_terminates_ordinary_sessions_never_superusers(
        srv: EmbeddedServer, capsys: pytest.CaptureFixture[str]) -> None:
    app = psycopg.connect(srv.dsn(user="app"), autocommit=True, application_name="leaky")
    su = psycopg.connect(srv.dsn(), autocommit=True, application_name="leaky")
    admin = psycopg.connect(srv.dsn(), autocommit=True)
    try:
        app_pid, su_pid = app.info.backend_pid, su.info.backend_pid
        code = cli.main(["terminate", srv.dsn(user="triage"), "--app", "leaky", "--yes",
                         "--wait", "0", "--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        data = json.loads(out)
        assert [t["pid"] for t in data["targets"]] == [app_pid]
        assert {(s["pid"], s["reason"]) for s in data["skipped"]} == {(su_pid, "superuser")}
        assert [r["result"] for r in data["results"]] == ["terminated"]

        def alive(pid: int) -> bool:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()
            return bool(row and row[0])
        wait_until(lambda: not alive(app_pid), message="the app session to end")
        assert alive(su_pid)
    finally:
        for c in (app, su, admin):
            c.close()


def test_triage_gets_in_when_the_ordinary_slots_are_full(srv: EmbeddedServer) -> None:
    ordinary = 8 - 2 - 2
    held = [psycopg.connect(srv.dsn(user="app"), autocommit=True) for _ in range(ordinary)]
    try:
        with pytest.raises(psycopg.OperationalError, match="pg_use_reserved_connections"):
            psycopg.connect(srv.dsn(user="app"), connect_timeout=3)  # full for 'app'
        with Connection(srv.dsn(user="triage")) as conn:
            snap = collect(conn)
        assert snap.client_connections == ordinary
        assert not snap.server.is_superuser
    finally:
        for c in held:
            c.close()


def test_without_pg_monitor_the_grant_hint_is_sql_that_works(
        srv: EmbeddedServer, capsys: pytest.CaptureFixture[str]) -> None:
    role = "On-Call Viewer"  # needs quoting: the hint must be pasteable as printed
    with psycopg.connect(srv.dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        try:
            with psycopg.connect(srv.dsn(), autocommit=True, application_name="su-idle"):
                dsn = psycopg.conninfo.make_conninfo(srv.dsn(), user=role)
                assert cli.main(["snapshot", dsn]) == 0
                out = " ".join(capsys.readouterr().out.split())
                m = re.search(r"(GRANT pg_monitor TO .*?;)", out)
                assert m and "hidden" in out, out
                admin.execute(m[1])  # the statement as printed
                with Connection(dsn) as conn:
                    assert collect(conn).server.sees_all
        finally:
            admin.execute(f'DROP ROLE "{role}"')
