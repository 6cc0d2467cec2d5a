"""Rich output for the command line (no Textual). Untrusted text goes in as ``Text``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pgmedic.humanize import age
from pgmedic.model import Snapshot
from pgmedic.triage.capacity import Saturation, saturation
from pgmedic.triage.grouping import Group
from pgmedic.untrusted import printable, quote_ident

__all__ = ["age", "app_label", "groups_table", "print_snapshot", "saturation_line"]

LEVEL_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "unknown": "dim"}


def app_label(name: str) -> Text:
    """An application name as a cell: literal, control characters made visible."""
    if name == "":
        return Text("(unnamed)", style="italic dim")
    return Text(printable(name))


def saturation_line(sat: Saturation) -> Text:
    style = LEVEL_STYLE[sat.level]
    line = Text()
    line.append(f"{sat.used} / {sat.usable} usable slots", style=style)
    line.append(f"  ({sat.ratio:.0%})", style=style)
    line.append(f"  max_connections {sat.max_connections}, reserved: "
                f"{sat.superuser_reserved} superuser")
    if sat.reserved:
        line.append(f" + {sat.reserved} pg_use_reserved_connections")
    line.append(f"  free for ordinary roles: {sat.free_ordinary}")
    line.append("  (+1 pgmedic)", style="dim")
    return line


def groups_table(groups: list[Group], title: str | None = None) -> Table:
    table = Table(title=title, expand=False, header_style="bold")
    table.add_column("application")
    table.add_column("state")
    table.add_column("count", justify="right")
    table.add_column("oldest", justify="right")
    table.add_column("clients", justify="right")
    for g in groups:
        table.add_row(app_label(g.application_name), Text(g.state), str(g.count),
                      age(g.oldest_seconds), str(g.clients))
    return table


def print_snapshot(snap: Snapshot, groups: list[Group], console: Console | None = None) -> None:
    console = console or Console()
    s = snap.server
    sat = saturation(snap)
    console.print(Text(f"PostgreSQL {s.version} at {printable(s.host)}:{s.port}/"
                       f"{printable(s.database)} as {printable(s.user)}", style="bold"))
    console.print(saturation_line(sat))
    if sat.hidden:
        console.print(Text(
            f"{sat.hidden} connections of other roles are hidden from {printable(s.user)}: "
            "their state is unknown. GRANT pg_monitor TO " + quote_ident(s.user) + ";",
            style="yellow"))
    if sat.superuser_sessions:
        console.print(Text(f"{sat.superuser_sessions} client sessions run as superuser: "
                           "they can take the reserved slots too.", style="yellow"))
    for lim in snap.limits:
        if lim.current >= lim.limit * 0.8:
            console.print(Text(f"{lim.kind} {printable(lim.name)}: {lim.current} of its "
                               f"CONNECTION LIMIT {lim.limit}", style="yellow"))
    console.print(groups_table(groups))
    if snap.other_backends:
        others = ", ".join(f"{n} {t}" for t, n in snap.other_backends.items())
        console.print(Text(f"not client sessions (own slots): {others}", style="dim"))
