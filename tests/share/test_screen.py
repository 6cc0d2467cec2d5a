"""The share modal in a tiny host app: preview of exactly what will be posted, a note."""

from __future__ import annotations

from share_incident import incident
from textual.app import App, ComposeResult
from textual.widgets import Button, Input, Label

from pgmedic.report.formats import render, visible_text
from pgmedic.report.summary import build_summary
from pgmedic.tui.screens.share import ShareScreen


class Host(App[None]):
    def __init__(self, screen: ShareScreen) -> None:
        super().__init__()
        self.share = screen
        self.results: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.push_screen(self.share, callback=self.results.append)


def screen(fmt: str = "slack") -> ShareScreen:
    summary = build_summary(incident(app="[bold]x[/bold] <!channel>"), None, now=5000.0)
    return ShareScreen(summary, fmt, "https://hooks.slack.com/…")


async def test_preview_updates_with_the_note_and_send_returns_it() -> None:
    share = screen()
    app = Host(share)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, Input)  # focus on the note, never on Send
        assert "[bold]x[/bold] &lt;!channel&gt;" in share.preview  # literal, escaped
        await pilot.press(*"rolled back")
        await pilot.pause()
        assert "rolled back" in share.preview
        summary = build_summary(incident(app="[bold]x[/bold] <!channel>"), None,
                                note="rolled back", now=5000.0)
        assert share.preview == visible_text(render(summary, "slack"), "slack")
        await pilot.press("enter")  # moves to Send, does not send
        assert app.results == []
        assert isinstance(app.focused, Button) and app.focused.id == "share-send"
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == ["rolled back"]


async def test_cancel_returns_none() -> None:
    app = Host(screen("discord"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


async def test_cancel_button() -> None:
    app = Host(screen("teams"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.click("#share-cancel")
        await pilot.pause()
    assert app.results == [None]
