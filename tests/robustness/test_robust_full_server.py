"""A full server: the TUI started when every ordinary slot is taken, and a server that fills
up while pgmedic is connected (issue 9, item 2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from pgmedic.demo.server import EmbeddedServer
from pgmedic.tui.app import PgmedicApp
from pgmedic.tui.screens.help import HelpScreen
from pgmedic.tui.widgets.groups import GroupsTable
from tuitools import status_text, until

ORDINARY = 4  # max_connections 6 - superuser_reserved_connections 2


@pytest.fixture
def tight() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(max_connections=6, superuser_reserved_connections=2) as srv:
        with psycopg.connect(srv.dsn(), autocommit=True) as c:
            c.execute("CREATE ROLE app LOGIN")
        yield srv


def counts(app: PgmedicApp) -> dict[str, int]:
    return {g.application_name: g.count for g in app.query_one(GroupsTable).groups}


async def test_full_at_start_retries_with_backoff_then_connects(
        build_app: Callable[..., PgmedicApp], tight: EmbeddedServer) -> None:
    held: list[psycopg.Connection[Any]] = [
        psycopg.connect(tight.dsn(user="app"), autocommit=True, application_name="holder")
        for _ in range(ORDINARY)]
    try:
        with pytest.raises(psycopg.OperationalError, match="reserved"):
            psycopg.connect(tight.dsn(user="app"), connect_timeout=3)  # it is full indeed
        app = build_app(tight.dsn(user="app"))
        async with app.run_test(size=(140, 40)) as pilot:
            await until(lambda: "53300" in status_text(app), what="the 53300 explanation")
            assert "superuser" in status_text(app)  # what to do: who still gets in
            assert app.last is None and app.is_running
            # it retries: a second refused attempt after the first backoff
            await until(lambda: app.session.failures >= 2, what="a retry")
            assert app.session.backoff() >= 2.0  # backing off, not hammering the server
            # keys keep working while it waits
            await pilot.press("question_mark")
            await until(lambda: isinstance(app.screen, HelpScreen), what="the help screen")
            await pilot.press("escape")
            await until(lambda: not isinstance(app.screen, HelpScreen), what="help closed")
            assert app.is_running and app.return_code is None
            # a slot frees up: pgmedic gets in by itself and shows who holds the slots
            held.pop().close()
            await until(lambda: app.last is not None, timeout=20, what="connected")
            await until(lambda: counts(app).get("holder") == ORDINARY - 1, what="the holders")
            assert "live" in status_text(app)
            assert "53300" not in status_text(app)
    finally:
        for c in held:
            c.close()


async def test_filling_every_slot_after_connect_does_not_lock_pgmedic_out(
        build_app: Callable[..., PgmedicApp], tight: EmbeddedServer) -> None:
    held: list[psycopg.Connection[Any]] = []
    app = build_app(tight.dsn(user="app"))
    try:
        async with app.run_test(size=(140, 40)):
            await until(lambda: app.last is not None, what="first data")
            pid = app.session.conn.backend_pid
            # pgmedic holds one ordinary slot: the other 3, then both reserved ones
            for _ in range(ORDINARY - 1):
                held.append(psycopg.connect(tight.dsn(user="app"), autocommit=True,
                                            application_name="filler"))
            for _ in range(2):
                held.append(psycopg.connect(tight.dsn(), autocommit=True,
                                            application_name="su-filler"))
            with pytest.raises(psycopg.OperationalError, match="too many clients"):
                psycopg.connect(tight.dsn(), connect_timeout=3)  # not even a superuser
            before = app.refreshes
            await until(lambda: counts(app).get("filler") == ORDINARY - 1
                        and counts(app).get("su-filler") == 2, what="the fillers on screen")
            await until(lambda: app.refreshes >= before + 3, what="refreshes going on")
            assert app.session.conn.backend_pid == pid  # the same connection, kept
            assert "live" in status_text(app)
            assert app.last is not None
            assert app.last.snapshot.client_connections == 5  # every slot but pgmedic's
    finally:
        for c in held:
            c.close()
