"""The share dialog: a preview of exactly what will be posted, and a short note.

A :class:`ShareScreen` is a ``ModalScreen[str | None]``: it dismisses with the note (``""``
when none) on Send and with ``None`` on Cancel. It does no network I/O: the caller renders
and posts the summary with that note in a worker (``pgmedic.notify.deliver``).

The preview is the visible text of the chosen format's payload (markup as posted, untrusted
text escaped for that format), shown through ``rich.text.Text`` so nothing in it is parsed
as Rich markup; control characters are already made visible by the escapers.

BINDINGS:
- ``escape``: cancel (id ``share.cancel``)
- ``ctrl+s``: send (id ``share.send``)
"""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from pgmedic.report.formats import render, visible_text
from pgmedic.report.summary import Summary
from pgmedic.untrusted import printable

NOTE_MAX = 280


class ShareScreen(ModalScreen[str | None]):
    """Preview the summary for ``fmt`` (sent to ``destination``, already masked)."""

    DEFAULT_CSS = """
    ShareScreen { align: center middle; }
    ShareScreen > #share-dialog {
        width: 90%; max-width: 110; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ShareScreen #share-title { text-style: bold; margin-bottom: 1; }
    ShareScreen #share-preview-box { height: 1fr; border: round $panel; }
    ShareScreen #share-note { margin-top: 1; }
    ShareScreen #share-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ShareScreen #share-buttons Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="share.cancel"),
        Binding("ctrl+s", "send", "Send", id="share.send"),
    ]

    def __init__(self, summary: Summary, fmt: str, destination: str | None = None, *,
                 note: str = "") -> None:
        super().__init__()
        self.summary = summary
        self.fmt = fmt
        self.destination = destination
        self.initial_note = note[:NOTE_MAX]
        self.preview = ""

    def compose(self) -> ComposeResult:
        where = f" to {printable(self.destination)}" if self.destination else ""
        with Vertical(id="share-dialog"):
            yield Label(Text(f"Share the incident summary ({self.fmt}){where}"),
                        id="share-title")
            with VerticalScroll(id="share-preview-box"):
                yield Static(id="share-preview")
            yield Input(value=self.initial_note, placeholder="a short note for the channel "
                        "(optional; Enter moves to Send)", max_length=NOTE_MAX,
                        id="share-note")
            with Horizontal(id="share-buttons"):
                yield Button("Send", variant="primary", id="share-send")
                yield Button("Cancel", id="share-cancel")

    def on_mount(self) -> None:
        self._update_preview(self.initial_note)
        self.query_one("#share-note", Input).focus()

    def payload_text(self, note: str) -> str:
        """The visible text of exactly what Send would post with ``note``."""
        summary = dataclasses.replace(self.summary, note=note.strip() or None)
        return visible_text(render(summary, self.fmt), self.fmt)

    def _update_preview(self, note: str) -> None:
        self.preview = self.payload_text(note)
        self.query_one("#share-preview", Static).update(Text(self.preview))

    @on(Input.Changed, "#share-note")
    def _note_changed(self, event: Input.Changed) -> None:
        self._update_preview(event.value)

    @on(Input.Submitted, "#share-note")
    def _note_submitted(self) -> None:
        self.query_one("#share-send", Button).focus()

    @on(Button.Pressed, "#share-send")
    def action_send(self) -> None:
        self.dismiss(self.query_one("#share-note", Input).value.strip())

    @on(Button.Pressed, "#share-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
