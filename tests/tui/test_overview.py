"""The live overview, driven by Pilot against real sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from textual.widgets import DataTable

from pgmedic.tui.app import PgmedicApp
from pgmedic.tui.screens.backends import BackendsScreen
from pgmedic.tui.widgets.groups import GroupsTable, row_key
from pgtools import Sessions
from tuitools import select_group, until


def group_counts(app: PgmedicApp, name: str) -> dict[str, int]:
    table = app.query_one(GroupsTable)
    return {g.state: g.count for g in table.groups if g.application_name == name}


async def test_groups_appear_and_refresh_picks_up_new_sessions(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        admin: psycopg.Connection[Any]) -> None:
    api = unique_app("api")
    sessions.many(3, api, "idle")
    sessions.open(api, "idle in transaction")
    app = build_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: group_counts(app, api) == {"idle": 3, "idle in transaction": 1},
                    what="the groups of the test application")
        table = app.query_one(GroupsTable)
        # the rows on screen, not only the data behind them
        assert table.get_row_index(row_key(api, "idle")) >= 0
        # pgmedic holds exactly one backend while the TUI runs (polled: a backend of an
        # earlier test's pgmedic process may still be exiting)
        def pgmedic_backends() -> int:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity "
                                "WHERE application_name = 'pgmedic'").fetchone()
            return int(row[0]) if row else -1
        await until(lambda: pgmedic_backends() == 1, what="exactly one pgmedic backend")
        assert app.session.conn.backend_pid is not None
        sessions.many(2, api, "idle")
        await until(lambda: group_counts(app, api).get("idle") == 5, what="a refresh")
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_drill_down_lists_the_backends_of_a_group(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any) -> None:
    api = unique_app("drill")
    conns = sessions.many(2, api, "idle")
    pids = {str(c.info.backend_pid) for c in conns}
    app = build_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await select_group(app, api, "idle", count=2)
        await pilot.press("enter")
        screen = await until(lambda: isinstance(app.screen, BackendsScreen) and app.screen,
                             what="the backends screen")
        backends = screen.query_one("#backends", DataTable)
        await until(lambda: backends.row_count == 2, what="the backend rows")
        shown = {str(k.value) for k in backends.rows}
        assert shown == pids
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, BackendsScreen), what="back")


async def test_help_lists_the_keys(build_app: Callable[..., PgmedicApp]) -> None:
    app = build_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("question_mark")
        await until(lambda: app.screen.__class__.__name__ == "HelpScreen", what="help")
        described = {desc for _, desc in app.screen.keys}  # type: ignore[attr-defined]
        for words in ("Quit", "Refresh", "Sort", "Terminate idle…"):
            assert words in described, words
        assert not any("Cursor" in d for d in described)  # only pgmedic's own keys
        await pilot.press("escape")


async def test_unreachable_server_at_start_ends_with_one_line(
        build_app: Callable[..., PgmedicApp]) -> None:
    from pgmedic.demo.server import free_port

    app = build_app(f"host=127.0.0.1 port={free_port()} user=x dbname=x")
    async with app.run_test(size=(140, 40)):
        await until(lambda: app.fatal_error is not None, what="the fatal error")
    assert app.return_code == 2
    assert app.fatal_error is not None and "could not reach" in app.fatal_error
