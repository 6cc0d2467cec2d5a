"""Drill-down: the backends of one application (and state), refreshed with the main view."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from pgmedic.errors import PgmedicError
from pgmedic.model import Backend
from pgmedic.render import age
from pgmedic.tui.session import LiveSession
from pgmedic.untrusted import one_line, printable

COLUMNS = ("pid", "user", "database", "client", "state", "state age", "backend age",
           "wait event", "query")


def backend_row(b: Backend, now: float) -> tuple[Text | str, ...]:
    client = b.client_addr or ("local" if b.state != "(hidden)" else "?")
    return (
        str(b.pid),
        Text(printable(b.usename, null="?")),
        Text(printable(b.datname, null="?")),
        Text(printable(client)),
        Text(b.state),
        age(None if b.state_change is None else now - b.state_change),
        age(None if b.backend_start is None else now - b.backend_start),
        Text(printable(b.wait_event, null="")),
        Text(printable(one_line(b.query, 80))),
    )


class BackendsScreen(Screen[None]):
    """The backends of ``application`` (every state, or one). Escape goes back.

    Keys: escape back, r refresh, k terminate the selected backend (if idle), K terminate
    every idle one of this application.
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back"),
        Binding("r", "reload", "Refresh", id="backends_refresh"),
        Binding("k", "terminate_backend", "Terminate this one…", id="backends_terminate_one"),
        Binding("K", "app.terminate", "Terminate all idle…", id="backends_terminate"),
    ]

    DEFAULT_CSS = """
    BackendsScreen #title { height: 1; padding: 0 1; text-style: bold; }
    BackendsScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, session: LiveSession, application: str, state: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.application = application
        self.state = state
        self.backends: tuple[Backend, ...] = ()

    def compose(self) -> ComposeResult:
        name = printable(self.application) or "(unnamed)"
        title = Text(f"backends of {name}" + (f" ({self.state})" if self.state else ""))
        yield Static(title, id="title")
        yield Static("loading…", id="status")
        table: DataTable[Text | str] = DataTable(id="backends", cursor_type="row",
                                                 zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_terminate_backend(self) -> None:
        from pgmedic.triage.targets import TargetSpec
        from pgmedic.tui.flows import TERMINABLE, FlowsApp

        table = self.query_one("#backends", DataTable)
        if not table.row_count or not isinstance(self.app, FlowsApp):
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None:
            return
        self.app.start_termination(TargetSpec(applications=(self.application,),
                                              states=TERMINABLE, pids=(int(key),)))

    @work(thread=True, exclusive=True, group="backends", exit_on_error=False)
    def load(self) -> None:
        worker = get_current_worker()
        try:
            rows = self.session.backends([self.application])
            now = self.session.conn.fetch("SELECT extract(epoch FROM clock_timestamp())::float8")
        except PgmedicError as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, exc.one_line())
            return
        if self.state:
            rows = tuple(b for b in rows if b.state == self.state)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, rows, float(now[0][0]))

    def _failed(self, message: str) -> None:
        self.query_one("#status", Static).update(Text(message, style="red"))

    def _show(self, rows: tuple[Backend, ...], now: float) -> None:
        self.backends = rows
        table = self.query_one("#backends", DataTable)
        table.clear()
        for b in rows:
            table.add_row(*backend_row(b, now), key=str(b.pid))
        self.query_one("#status", Static).update(
            f"{len(rows)} backends · enter on the main view drills in, escape comes back")
