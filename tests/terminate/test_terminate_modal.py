"""The confirmation modal alone, in a tiny host app: focus, typed count, escape, hostile text."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Button, DataTable, Input, Label

from pgmedic.triage.targets import (
    DENIED,
    Operator,
    Preview,
    Skipped,
    Target,
    TargetSpec,
)
from pgmedic.tui.screens.terminate import TerminateConfirm

NOW = 1_000_000.0


def make_preview(n: int, app: str = "checkout-api", skipped: int = 0) -> Preview:
    targets = tuple(Target(1000 + i, app, "app", "shop", "10.0.0.7", 40000 + i, "idle",
                           NOW - 3600, 300.0 - i, False) for i in range(n))
    skips = tuple(Skipped(2000 + i, app, "postgres", "shop", "local", "idle", DENIED,
                          "role triage may not signal role postgres") for i in range(skipped))
    return Preview(spec=TargetSpec(applications=(app,), idle_for_s=30),
                   operator=Operator("triage", False, True, 1), taken_at=NOW, targets=targets,
                   skipped=skips, server="db.internal:5432/shop")


class Host(App[None]):
    CURSOR_BLINK = False

    def __init__(self, preview: Preview) -> None:
        super().__init__()
        self.preview = preview
        self.results: list[bool | None] = []

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.push_screen(TerminateConfirm(self.preview), self.results.append)


def confirm_button(app: Host) -> Button:
    return app.screen.query_one("#terminate-confirm", Button)


async def test_focus_starts_on_cancel_and_enter_cancels() -> None:
    app = Host(make_preview(3, skipped=2))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TerminateConfirm)
        assert app.focused is not None and app.focused.id == "terminate-cancel"
        assert not confirm_button(app).disabled  # small set: no typed count
        targets = app.screen.query_one("#terminate-targets", DataTable)
        assert targets.row_count == 3
        assert app.screen.query_one("#terminate-skipped", DataTable).row_count == 2
        assert not app.screen.query("#terminate-count")
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [False]


async def test_escape_cancels() -> None:
    app = Host(make_preview(3))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TerminateConfirm)
    assert app.results == [False]


async def test_small_set_confirms() -> None:
    app = Host(make_preview(2))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.click("#terminate-confirm")
        await pilot.pause()
    assert app.results == [True]


async def test_large_set_needs_the_count_typed() -> None:
    app = Host(make_preview(25))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "terminate-cancel"
        assert confirm_button(app).disabled
        await pilot.click("#terminate-confirm")  # disabled: nothing happens
        await pilot.pause()
        assert app.results == [] and isinstance(app.screen, TerminateConfirm)
        app.screen.query_one("#terminate-count", Input).focus()
        await pilot.press("2", "4")
        await pilot.pause()
        assert confirm_button(app).disabled  # a wrong count keeps it disabled
        await pilot.press("backspace", "5")
        await pilot.pause()
        assert not confirm_button(app).disabled
        await pilot.press("enter")  # moves focus to Confirm, does not confirm by itself
        await pilot.pause()
        assert app.results == []
        assert app.focused is confirm_button(app)
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [True]


async def test_empty_preview_cannot_be_confirmed() -> None:
    app = Host(make_preview(0, skipped=1))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert confirm_button(app).disabled
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [False]


async def test_hostile_names_are_shown_literally() -> None:
    hostile = "[bold red]x[/]\x1b[2J"
    app = Host(make_preview(1, app=hostile))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#terminate-targets", DataTable)
        cell = table.get_row_at(0)[1]
        assert isinstance(cell, Text)
        assert cell.plain == "[bold red]x[/]\\x1b[2J"
        assert not cell.spans
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [False]
