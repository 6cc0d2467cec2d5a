"""The floor of a Textual app: one DataTable with one row, painted in the first frame.

Run by bench_tui.py in the same pty as pgmedic and pg_activity, as a reference: no database,
no pgmedic import; what Textual itself costs to reach its first frame on this machine.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable


class Minimal(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("application", "state", "count")
        table.add_row("bench-app-0", "idle", "35")


if __name__ == "__main__":
    Minimal().run()
