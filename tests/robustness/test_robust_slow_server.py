"""A slow or locked server (issue 9, item 4): every refresh is bounded by pgmedic's own
statement_timeout and lock_timeout; a refresh that times out is reported, not fatal, and the
UI keeps answering keys while a refresh hangs.

"Locked" is made exact, not timing-dependent: a superuser session holds ACCESS EXCLUSIVE on a
catalog pgmedic's queries read (pg_authid under pg_roles; pg_auth_members, which a fresh
ordinary-role backend reads for pg_has_role but not to log in). A server of its own: new
logins wait on pg_authid while it is held.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from pgmedic import cli
from pgmedic.demo.server import EmbeddedServer
from pgmedic.errors import QueryError
from pgmedic.pg.connection import Connection, Settings
from pgmedic.pg.snapshot import collect
from pgmedic.tui.app import PgmedicApp
from pgmedic.tui.screens.help import HelpScreen
from tuitools import status_text, until


@pytest.fixture(scope="module")
def srv() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(max_connections=20) as server:
        with psycopg.connect(server.dsn(), autocommit=True) as c:
            c.execute("CREATE ROLE app LOGIN")
        yield server


@pytest.fixture
def locker(srv: EmbeddedServer) -> Iterator[Callable[[str], Any]]:
    """locker("pg_authid") holds ACCESS EXCLUSIVE on it until the context exits."""
    conn = psycopg.connect(srv.dsn(), autocommit=True, application_name="locker")

    @contextmanager
    def hold(table: str) -> Iterator[None]:
        conn.execute("BEGIN")
        conn.execute(f"LOCK TABLE pg_catalog.{table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")

    yield hold
    conn.close()


def test_statement_timeout_bounds_a_blocked_refresh(srv: EmbeddedServer, locker: Any) -> None:
    with Connection(srv.dsn(), Settings(statement_timeout_ms=200, lock_timeout_ms=10_000)) as c:
        collect(c)
        with locker("pg_authid"):
            start = time.monotonic()
            with pytest.raises(QueryError, match="statement_timeout"):
                collect(c)
            assert time.monotonic() - start < 3
        assert c.connected  # a timeout is not a lost connection
        collect(c)


def test_lock_timeout_bounds_a_blocked_refresh(srv: EmbeddedServer, locker: Any) -> None:
    with Connection(srv.dsn(), Settings(statement_timeout_ms=10_000, lock_timeout_ms=200)) as c:
        collect(c)
        with locker("pg_authid"):
            start = time.monotonic()
            with pytest.raises(QueryError, match="lock timeout"):
                collect(c)
            assert time.monotonic() - start < 3
        collect(c)


def test_snapshot_cli_times_out_in_one_line(srv: EmbeddedServer, locker: Any,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with locker("pg_auth_members"):
        code = cli.main(["snapshot", "--statement-timeout", "300", srv.dsn(user="app")])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgmedic: "), err
    assert "timed out after 300 ms" in lines[0] and "--statement-timeout" in lines[0]
    assert out == ""
    assert cli.main(["snapshot", "--statement-timeout", "300", srv.dsn(user="app")]) == 0


async def test_tui_reports_a_timed_out_refresh_and_keeps_answering_keys(
        build_app: Callable[..., PgmedicApp], srv: EmbeddedServer, locker: Any) -> None:
    app = build_app(srv.dsn(), statement_timeout=2000)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: app.last is not None, what="first data")
        pid = app.session.conn.backend_pid
        with locker("pg_authid"):
            # a refresh is now stuck on the lock for up to 2 s: the UI still answers at once
            await until(lambda: app.workers and any(
                w.group == "refresh" and w.is_running for w in app.workers), what="a refresh")
            await pilot.press("question_mark")
            await until(lambda: isinstance(app.screen, HelpScreen), timeout=1.0,
                        what="the help screen while a refresh hangs")
            await pilot.press("escape")
            await until(lambda: "statement_timeout" in status_text(app), timeout=10,
                        what="the timeout in the status line")
            assert "STALE" in status_text(app)
            assert app.is_running and app.return_code is None
        await until(lambda: "live" in status_text(app), timeout=10, what="live again")
        assert app.session.conn.backend_pid == pid  # no reconnect: the connection was fine
