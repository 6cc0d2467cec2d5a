"""The termination confirmation: exactly the previewed targets, and a deliberate Confirm.

A :class:`TerminateConfirm` is a ``ModalScreen[bool]``: it dismisses with ``True`` on
Confirm and ``False`` on Cancel or Escape. It does no database work: the caller pushes it
with the :class:`~pgmedic.triage.targets.Preview` from ``pg.actions.preview`` (run in a
worker) and, on ``True``, runs ``pg.actions.terminate`` and ``verify`` in a worker:

    self.push_screen(TerminateConfirm(preview), self._terminate_confirmed)

Focus starts on Cancel. When the set holds more than ``type_count_above`` targets (10 by
default), Confirm stays disabled until the operator types the count. Untrusted text
(application, user, database names) is shown through ``printable`` + ``rich.text.Text``.

BINDINGS:
- ``escape``: cancel (id ``terminate.cancel``)
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from pgmedic.humanize import age
from pgmedic.triage.targets import Preview
from pgmedic.untrusted import printable

#: above this many targets the count must be typed before Confirm is enabled
TYPE_COUNT_ABOVE = 10


def _cell(text: str | None) -> Text:
    if text is None:
        return Text("-", style="dim")
    if text == "":
        return Text("(unnamed)", style="italic dim")
    return Text(printable(text))


class TerminateConfirm(ModalScreen[bool]):
    """Confirm terminating ``preview.targets``; the skipped rows are listed with reasons."""

    DEFAULT_CSS = """
    TerminateConfirm { align: center middle; }
    TerminateConfirm > #terminate-dialog {
        width: 90%; max-width: 120; height: 90%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    TerminateConfirm #terminate-title { text-style: bold; }
    TerminateConfirm #terminate-filter { color: $text-muted; margin-bottom: 1; }
    TerminateConfirm #terminate-targets { height: 1fr; }
    TerminateConfirm #terminate-skipped-label { margin-top: 1; color: $warning; }
    TerminateConfirm #terminate-skipped { height: auto; max-height: 8; }
    TerminateConfirm #terminate-note { margin-top: 1; }
    TerminateConfirm #terminate-count { margin-top: 1; }
    TerminateConfirm #terminate-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    TerminateConfirm #terminate-buttons Button { margin-left: 2; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="terminate.cancel")]

    AUTO_FOCUS = "#terminate-cancel"

    def __init__(self, preview: Preview, *, type_count_above: int = TYPE_COUNT_ABOVE) -> None:
        super().__init__()
        self.preview = preview
        self.needs_typed_count = preview.count > type_count_above

    @property
    def count(self) -> int:
        return self.preview.count

    def compose(self) -> ComposeResult:
        p = self.preview
        n = p.count
        apps = ", ".join(printable(a) or "(unnamed)" for a in p.applications)
        title = (f"Terminate {n} backend{'s' if n != 1 else ''}" + (f" of {apps}" if apps else "")
                 + "?" if n else "Nothing to terminate")
        with Vertical(id="terminate-dialog"):
            yield Label(Text(title), id="terminate-title")
            yield Label(Text(f"{printable(p.server)} as {printable(p.operator.role)}: "
                             f"{printable(p.spec.describe())}"), id="terminate-filter")
            yield DataTable(id="terminate-targets", cursor_type="row", zebra_stripes=True)
            if p.over_limit:
                yield Label(Text(f"{p.over_limit} more matching backends left out by the limit"))
            if p.skipped:
                yield Label(Text(f"{len(p.skipped)} matching backends will not be touched:"),
                            id="terminate-skipped-label")
                yield DataTable(id="terminate-skipped", cursor_type="row")
            yield Static(Text("Each target is re-checked by pid and backend_start when it is "
                              "terminated. Pools refill: this is mitigation, not the fix."),
                         id="terminate-note")
            if self.needs_typed_count and n:
                yield Input(placeholder=f"type {n} to enable Confirm", id="terminate-count",
                            restrict=r"[0-9]*", max_length=len(str(n)) + 2)
            with Horizontal(id="terminate-buttons"):
                yield Button("Cancel", id="terminate-cancel")
                yield Button(f"Terminate {n}", variant="error", id="terminate-confirm",
                             disabled=n == 0 or self.needs_typed_count)

    def on_mount(self) -> None:
        table = self.query_one("#terminate-targets", DataTable)
        table.add_columns("pid", "application", "user", "database", "client", "state", "idle")
        for t in self.preview.targets:
            table.add_row(Text(str(t.pid), justify="right"), _cell(t.application_name),
                          _cell(t.usename), _cell(t.datname), _cell(t.client), Text(t.state),
                          Text(age(t.idle_s), justify="right"), key=str(t.pid))
        if self.preview.skipped:
            skipped = self.query_one("#terminate-skipped", DataTable)
            skipped.add_columns("pid", "application", "user", "state", "reason")
            for s in self.preview.skipped:
                skipped.add_row(Text(str(s.pid), justify="right"), _cell(s.application_name),
                                _cell(s.usename), Text(s.state), Text(printable(s.detail)),
                                key=str(s.pid))
        self.query_one("#terminate-cancel", Button).focus()

    @on(Input.Changed, "#terminate-count")
    def _count_typed(self, event: Input.Changed) -> None:
        ok = event.value.strip() == str(self.count)
        self.query_one("#terminate-confirm", Button).disabled = not ok

    @on(Input.Submitted, "#terminate-count")
    def _count_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == str(self.count):
            self.query_one("#terminate-confirm", Button).focus()

    @on(Button.Pressed, "#terminate-confirm")
    def action_confirm(self) -> None:
        button = self.query_one("#terminate-confirm", Button)
        if not button.disabled and self.count:
            self.dismiss(True)

    @on(Button.Pressed, "#terminate-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
