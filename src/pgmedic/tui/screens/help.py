"""The help screen: every key of the current screen and what it does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = (
    "pgmedic shows who holds PostgreSQL's connection slots and walks you through the "
    "pool-exhaustion runbook. Every figure excludes pgmedic's own connection. Data older "
    "than a refresh is marked stale; a lost connection reconnects by itself."
)


class HelpScreen(ModalScreen[None]):
    """Keys: escape or ? closes."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help_close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; height: 80%; border: thick $primary; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan")
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        with VerticalScroll():
            yield Static(Text("pgmedic — keys", style="bold"))
            yield Static(ABOUT)
            yield Static(table, id="keys")
            yield Static(Text("Also: ctrl+p opens the command palette with every action.",
                              style="dim"))
