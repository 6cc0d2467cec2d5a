"""Runbook walk, termination and notes in the TUI, against real sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from textual.widgets import Button, Input

from pgmedic.report.timeline import ACTION, FINDING, NOTE, STEP
from pgmedic.tui.app import PgmedicApp
from pgmedic.tui.screens.terminate import TerminateConfirm
from pgmedic.tui.widgets.groups import GroupsTable
from pgtools import Sessions, count_backends, wait_until
from tuitools import runbook_panel, select_group, until


def kinds(app: PgmedicApp, kind: str) -> list[Any]:
    assert app.timeline is not None
    return app.timeline.timeline.of_kind(kind)


async def test_walk_every_step_mark_done_and_note(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hog = unique_app("hog")
    sessions.many(12, hog, "idle")  # with pools of 2: 6 pools in one process
    app = build_app(pool_max=2)
    async with app.run_test(size=(160, 45)) as pilot:
        panel = await runbook_panel(app)
        await until(lambda: "pools" in panel.results, what="runbook results")
        titles = [panel.step.title]
        for _ in range(len(panel.runbook.steps) - 1):
            await pilot.press("n")
            titles.append(panel.step.title)
        assert titles == [s.title for s in panel.runbook.steps]
        assert len(titles) == 7
        await pilot.press("p")
        assert panel.index == 5
        # the offender is highlighted in the table
        await until(lambda: hog in app.query_one(GroupsTable).highlight, what="the offender")
        # findings went on the timeline
        steps_found = {e.data.get("step") for e in kinds(app, FINDING)}
        assert {"confirm", "holders", "pools"} <= steps_found
        await pilot.press("home")
        for _ in range(6):
            await pilot.press("p")
        await pilot.press("d")
        assert panel.status[panel.runbook.steps[0].id] == "done"
        assert panel.index == 1  # done moves on
        assert [e.data["status"] for e in kinds(app, STEP)] == ["done"]
        await pilot.press("a")
        await until(lambda: app.screen.__class__.__name__ == "NoteScreen", what="note screen")
        await pilot.press(*"paged payments team")
        await pilot.press("enter")
        await until(lambda: kinds(app, NOTE), what="the note")
        assert kinds(app, NOTE)[0].data["text"] == "paged payments team"


async def test_terminate_selected_application_exactly(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        admin: psycopg.Connection[Any], app_dsn: str) -> None:
    victim, bystander = unique_app("victim"), unique_app("bystander")
    sessions.many(12, victim, "idle", dsn=app_dsn)
    sessions.open(victim, "idle in transaction", dsn=app_dsn)
    sessions.many(2, bystander, "idle", dsn=app_dsn)
    app = build_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await select_group(app, victim, "idle", count=12)
        await pilot.press("k")
        modal = await until(lambda: isinstance(app.screen, TerminateConfirm) and app.screen,
                            what="the confirmation")
        assert modal.count == 12
        assert app.focused is not None and app.focused.id == "terminate-cancel"
        assert modal.query_one("#terminate-confirm", Button).disabled  # 12 > 10: type it
        modal.query_one("#terminate-count", Input).value = "12"
        await pilot.pause()
        assert not modal.query_one("#terminate-confirm", Button).disabled
        modal.query_one("#terminate-confirm", Button).press()
        await until(lambda: kinds(app, ACTION), timeout=20, what="the termination")
        action = kinds(app, ACTION)[0]
        assert "terminated 12" in action.title
    wait_until(lambda: count_backends(admin, victim) == 1, message="victims gone")
    assert count_backends(admin, bystander) == 2  # other application untouched
    row = admin.execute("SELECT state FROM pg_stat_activity WHERE application_name = %s",
                        (victim,)).fetchone()
    assert row is not None and row[0] == "idle in transaction"  # other state untouched


async def test_read_only_never_opens_the_confirmation(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        admin: psycopg.Connection[Any], app_dsn: str) -> None:
    app_name = unique_app("ro")
    sessions.many(2, app_name, "idle", dsn=app_dsn)
    app = build_app(read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await select_group(app, app_name)
        await pilot.press("k")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, TerminateConfirm)
    assert count_backends(admin, app_name) == 2


async def test_budget_step_shows_the_calculator_and_what_ifs_reach_the_timeline(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        app_dsn: str) -> None:
    from pgmedic.tui.widgets.budget import BudgetCalculator

    svc = unique_app("budgeted")
    sessions.many(4, svc, "idle", dsn=app_dsn)
    app = build_app(pool_max=5)
    async with app.run_test(size=(170, 50)) as pilot:
        panel = await runbook_panel(app)
        await until(lambda: app.last_snapshot is not None, what="data")
        while panel.step.check != "budget":
            await pilot.press("n")
        calc = await until(lambda: app.query(BudgetCalculator).first(), what="the calculator")
        assert calc.budget.fits  # one shared pool of 5 per process fits easily
        before = len(kinds(app, FINDING))
        names = [s.name for s in calc.inputs.services]
        i = names.index(svc)
        field = calc.query_one(f"#budget-pool_max-{i}", Input)
        field.value = "5000"
        await until(lambda: not calc.budget.fits, what="over budget")
        await until(lambda: len(kinds(app, FINDING)) > before, what="the what-if finding")
        what_if = [e for e in kinds(app, FINDING) if e.data.get("what_if")][-1]
        assert what_if.data["budget"]["fits"] is False
        await pilot.press("n")
        assert not app.query(BudgetCalculator)  # only on its own step


async def test_share_step_posts_once_and_never_shows_the_url(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        app_dsn: str) -> None:
    from pgmedic.report.timeline import SHARED
    from pgmedic.tui.screens.share import ShareScreen
    from share_receiver import Receiver

    hostile = "<!channel> @here [bold]x[/bold]"
    sessions.many(2, hostile, "idle", dsn=app_dsn)
    receiver = Receiver().start()
    try:
        app = build_app()
        url = receiver.url()
        app.webhook = (url, "test")
        app.share_format = "slack"
        async with app.run_test(size=(170, 50)) as pilot:
            panel = await runbook_panel(app)
            await until(lambda: app.last_snapshot is not None, what="data")
            while panel.step.check != "share":
                await pilot.press("n")
            await pilot.press("g")
            await until(lambda: isinstance(app.screen, ShareScreen), what="the preview")
            assert "s3cr3tT0ken" not in app.screen.preview  # type: ignore[attr-defined]
            await pilot.press("ctrl+s")
            await until(lambda: kinds(app, SHARED), timeout=20, what="the post")
            assert len(receiver.requests) == 1
            shared = kinds(app, SHARED)[0]
            assert "s3cr3tT0ken" not in str(shared.data)
            assert shared.data["status"] == 200
            body = receiver.requests[0].body.decode()
            assert "<!channel>" not in body  # escaped: pings nobody
            notes = " ".join(n.message for n in app._notifications)
            assert "s3cr3tT0ken" not in notes
    finally:
        receiver.stop()


async def test_resume_continues_the_latest_timeline(
        build_app: Callable[..., PgmedicApp]) -> None:
    first = build_app()
    async with first.run_test(size=(160, 45)) as pilot:
        panel = await runbook_panel(first)
        await pilot.press("d")
        assert first.timeline is not None
        incident = first.timeline.timeline.incident_id
    resumed = build_app(resume=True)
    async with resumed.run_test(size=(160, 45)):
        panel = await runbook_panel(resumed)
        assert resumed.timeline is not None
        assert resumed.timeline.timeline.incident_id == incident
        assert panel.status[panel.runbook.steps[0].id] == "done"


async def test_terminate_one_selected_backend_from_the_drill_down(
        build_app: Callable[..., PgmedicApp], sessions: Sessions, unique_app: Any,
        admin: psycopg.Connection[Any], app_dsn: str) -> None:
    from textual.widgets import DataTable

    from pgmedic.tui.screens.backends import BackendsScreen

    name = unique_app("pick-one")
    conns = sessions.many(3, name, "idle", dsn=app_dsn)
    pids = sorted(c.info.backend_pid for c in conns)
    app = build_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await select_group(app, name)
        await pilot.press("enter")
        screen = await until(lambda: isinstance(app.screen, BackendsScreen) and app.screen,
                             what="the backends")
        rows = screen.query_one("#backends", DataTable)
        await until(lambda: rows.row_count == 3, what="three rows")
        rows.focus()
        rows.move_cursor(row=rows.get_row_index(str(pids[1])))
        await pilot.press("k")
        modal = await until(lambda: isinstance(app.screen, TerminateConfirm) and app.screen,
                            what="the confirmation")
        assert [t.pid for t in modal.preview.targets] == [pids[1]]
        modal.query_one("#terminate-confirm", Button).press()
        await until(lambda: kinds(app, ACTION), timeout=20, what="the termination")
    wait_until(lambda: count_backends(admin, name) == 2, message="one gone")
    alive = {r[0] for r in admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchall()}
    assert alive == {pids[0], pids[2]}
