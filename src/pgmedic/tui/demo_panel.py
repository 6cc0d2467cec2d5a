"""Demo mode: the services' own errors as the pages an engineer gets, and "deploy the fix".

Only used when the TUI runs under ``pgmedic demo``; the incident object comes from
:mod:`pgmedic.demo.incident` (its methods are thread-safe and in memory).
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from pgmedic.untrusted import printable

ERROR_STYLE = "bold red"


class PagesLog(RichLog):
    """The last service errors (TooManyConnectionsError, failed health checks)."""

    DEFAULT_CSS = """
    PagesLog { height: 7; border-top: solid $warning; padding: 0 1; overflow-x: hidden;
               scrollbar-size-vertical: 1; }
    """

    def __init__(self, incident: Any, **kwargs: Any) -> None:
        super().__init__(max_lines=200, wrap=True, markup=False, **kwargs)
        self.incident = incident
        self.seen = 0
        self.border_title = "pages from the services (demo)"

    def on_mount(self) -> None:
        self.write(Text("demo: checkout-api builds a pool per DatabaseClient (8 per replica); "
                        "press f to deploy the fix (one shared pool)", style="cyan"))
        self.set_interval(1.0, self.poll)

    def poll(self) -> None:
        events = self.incident.events_since(self.seen)
        for ev in events[-20:]:
            stamp = time.strftime("%H:%M:%S", time.localtime(ev.at))
            times = f" (x{ev.count})" if getattr(ev, "count", 1) > 1 else ""
            line = Text(f"{stamp} ")
            line.append(printable(f"{ev.service}#{ev.replica}"), style="bold")
            line.append(" " + printable(f"{ev.message}{times}"),
                        style=ERROR_STYLE if getattr(ev, "is_error", False) else "")
            self.write(line)
        if events:
            self.seen = events[-1].seq


def manifest_text(incident: Any) -> str:
    """The services manifest the demo team would have written: pools per replica = 1, as
    they believe (the runbook then shows what is really observed)."""
    lines = []
    for plan in incident.plans():
        if plan.mode == "reporting":
            continue
        lines += [f'[services."{plan.name}"]', f"pool_max = {plan.pool_max}",
                  "pools_per_replica = 1", f"replicas = {plan.replicas}", ""]
    return "\n".join(lines)
