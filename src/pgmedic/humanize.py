"""Numbers for people: durations short enough for a table cell. Pure, no imports."""

from __future__ import annotations


def age(seconds: float | None) -> str:
    """12s, 4m05s, 3h02m, 2d04h; '-' for unknown."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"
