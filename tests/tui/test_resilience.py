"""The TUI when the incident gets worse: server restart, own backend terminated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from pgmedic.demo.server import EmbeddedServer
from pgmedic.report.timeline import OUTAGE
from pgmedic.tui.app import PgmedicApp
from pgmedic.tui.widgets.groups import GroupsTable
from tuitools import until


@pytest.fixture
def own_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(max_connections=20) as srv:
        yield srv


def status_text(app: PgmedicApp) -> str:
    return str(app.query_one("#status").render())


async def test_server_restart_marks_stale_then_resumes(
        build_app: Callable[..., PgmedicApp], own_server: EmbeddedServer) -> None:
    app = build_app(own_server.dsn())
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: app.last is not None, what="first data")
        first_refreshes = app.refreshes
        own_server.stop_server(mode="fast")
        await until(lambda: "reconnecting" in status_text(app), what="reconnecting")
        assert "STALE" in status_text(app)
        await pilot.press("s")  # keys keep working while disconnected
        own_server.restart()
        with psycopg.connect(own_server.dsn(), application_name="after-restart",
                             autocommit=True):
            await until(lambda: any(g.application_name == "after-restart"
                                    for g in app.query_one(GroupsTable).groups),
                        timeout=30, what="data after the restart")
        assert app.refreshes > first_refreshes
        assert "live" in status_text(app)
        assert app.timeline is not None
        outages = app.timeline.timeline.of_kind(OUTAGE)
        assert [e.title.split(":")[0].split(" after")[0] for e in outages] == [
            "connection lost", "reconnected"]


async def test_own_backend_terminated_reconnects(
        build_app: Callable[..., PgmedicApp], own_server: EmbeddedServer,
        ) -> None:
    app = build_app(own_server.dsn())
    async with app.run_test(size=(140, 40)):
        await until(lambda: app.last is not None, what="first data")
        pid = app.session.conn.backend_pid
        with psycopg.connect(own_server.dsn(), autocommit=True) as c:
            c.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await until(lambda: app.session.conn.backend_pid not in (None, pid)
                    and app.session.conn.connected, timeout=30, what="a new backend")
        await until(lambda: "live" in status_text(app), what="live again")
        with psycopg.connect(own_server.dsn(), autocommit=True) as c:
            def mine() -> list[int]:
                rows: Any = c.execute("SELECT pid FROM pg_stat_activity "
                                      "WHERE application_name = 'pgmedic'").fetchall()
                return [r[0] for r in rows]
            # the terminated backend may take a moment to exit; then exactly the new one
            await until(lambda: mine() == [app.session.conn.backend_pid],
                        what="exactly one pgmedic backend, the new one")
