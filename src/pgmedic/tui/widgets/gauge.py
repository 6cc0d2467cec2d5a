"""The saturation gauge: used / usable slots, the reserved slots drawn apart."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pgmedic.triage.capacity import Saturation

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def gauge_text(sat: Saturation, width: int = 50) -> Text:
    width = max(10, width)
    total = max(1, sat.max_connections)
    cells_usable = round(width * sat.usable / total)
    cells_used = min(width, round(width * min(sat.used + sat.own, total) / total))
    style = STYLE.get(sat.level, "white")
    bar = Text()
    for i in range(width):
        in_reserved = i >= cells_usable
        if i < cells_used:
            bar.append("█", style="magenta" if in_reserved else style)
        else:
            bar.append("▒" if in_reserved else "░", style="grey50" if in_reserved else "grey35")
    out = Text()
    out.append("slots ", style="bold")
    out.append_text(bar)
    out.append(f"  {sat.used}/{sat.usable} usable ({sat.ratio:.0%})", style=style)
    reserved = f"{sat.superuser_reserved} superuser"
    if sat.reserved:
        reserved += f" + {sat.reserved} reserved-role"
    out.append(f"  reserved: {reserved}  free: {sat.free_ordinary}")
    if sat.into_reserved:
        out.append(f"  {sat.into_reserved} in reserved slots", style="magenta")
    out.append("  +1 pgmedic", style="dim")
    return out


class SaturationGauge(Static):
    DEFAULT_CSS = """
    SaturationGauge { height: 1; padding: 0 1; }
    """

    def show(self, sat: Saturation) -> None:
        self.update(gauge_text(sat, width=max(10, min(50, self.size.width - 70))))


BARS = " ▁▂▃▄▅▆▇█"


def trend_text(samples: list[float], top: float, width: int) -> Text:
    """The used slots over the last refreshes, scaled to the usable slots (not to the data)."""
    top = max(1.0, top)
    shown = samples[-max(1, width):]
    out = Text("trend ", style="bold")
    for v in shown:
        level = min(len(BARS) - 1, round((len(BARS) - 1) * v / top))
        out.append(BARS[level], style="red" if v >= top else ("yellow" if v >= 0.8 * top else
                                                             "green"))
    if shown:
        out.append(f"  {int(min(shown))}-{int(max(shown))} of {int(top)} over the last "
                   f"{len(shown)} refreshes", style="dim")
    return out
