"""The application x state table: biggest first, sortable, the offender highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from pgmedic.render import age
from pgmedic.triage.grouping import Group
from pgmedic.untrusted import printable

SORTS = ("count", "application", "state", "oldest")
STATE_STYLE = {
    "active": "green",
    "idle": "",
    "idle in transaction": "yellow",
    "idle in transaction (aborted)": "bold yellow",
    "(hidden)": "magenta",
}


def row_key(app: str, state: str) -> str:
    return f"{app}\x00{state}"


def split_key(key: str) -> tuple[str, str]:
    app, _, state = key.partition("\x00")
    return app, state


def sort_groups(groups: list[Group], mode: str) -> list[Group]:
    if mode == "application":
        return sorted(groups, key=lambda g: (g.application_name, g.state))
    if mode == "state":
        return sorted(groups, key=lambda g: (g.state, -g.count, g.application_name))
    if mode == "oldest":
        return sorted(groups, key=lambda g: (-(g.oldest_seconds or 0.0), g.application_name))
    return list(groups)  # already biggest first


class GroupsTable(DataTable[Text | str]):
    """Keys: enter drills into a group's backends, s changes the sort."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort", id="sort"),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.sort_mode = "count"
        self.groups: list[Group] = []
        self.highlight: set[str] = set()  # application names to mark (the offender)

    def on_mount(self) -> None:
        self.add_column("application", key="application")
        self.add_column("state", key="state")
        self.add_column("count", key="count")
        self.add_column("oldest", key="oldest")
        self.add_column("clients", key="clients")

    def action_cycle_sort(self) -> None:
        self.sort_mode = SORTS[(SORTS.index(self.sort_mode) + 1) % len(SORTS)]
        self.notify(f"sorted by {self.sort_mode}", timeout=2)
        self.show(self.groups)

    def show(self, groups: list[Group]) -> None:
        self.groups = groups
        current = None
        if self.row_count and self.cursor_row < self.row_count:
            current = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        self.clear()
        for g in sort_groups(groups, self.sort_mode):
            marked = g.application_name in self.highlight
            name = Text(printable(g.application_name)) if g.application_name else Text(
                "(unnamed)", style="italic dim")
            if marked:
                name.stylize("bold red")
                name.append(" ◀ offender", style="red")
            self.add_row(
                name,
                Text(g.state, style=STATE_STYLE.get(g.state, "")),
                Text(str(g.count), justify="right"),
                Text(age(g.oldest_seconds), justify="right"),
                Text(str(g.clients), justify="right"),
                key=row_key(g.application_name, g.state),
            )
        if current is not None:
            try:
                self.move_cursor(row=self.get_row_index(current), animate=False)
            except Exception:  # noqa: BLE001 - the group is gone: keep the cursor where it is
                pass

    def selected(self) -> tuple[str, str] | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return split_key(key) if key is not None else None
