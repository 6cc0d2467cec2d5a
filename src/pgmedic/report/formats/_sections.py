"""The summary as neutral sections (a title and lines), escaped by the caller's escaper.

Section titles are our own words; every piece of a line that comes from the summary goes
through ``esc``. Each chat format lays these sections out in its own structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pgmedic.report.summary import Level, Summary, Termination
from pgmedic.untrusted import one_line

Escape = Callable[[str | None], str]

VERDICT_ICON = {"ok": "✅", "warn": "⚠️", "fail": "🔴", "fits": "✅", "over": "🔴"}
COLOR = {"ok": 0x2EB67D, "warn": 0xECB22E, "fail": 0xE01E5A, "unknown": 0x888888}


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: tuple[str, ...]

    def text(self, sep: str = "\n") -> str:
        return sep.join(self.lines)


def clock(at: float | None) -> str:
    if at is None:
        return "?"
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%SZ")


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def icon(verdict: str) -> str:
    return VERDICT_ICON.get(verdict, "❔")


def severity(summary: Summary) -> str:
    """ok/warn/fail for colours: the live level, else the level before."""
    level = summary.now or summary.before
    return level.level if level is not None else "unknown"


def level_text(level: Level | None) -> str:
    if level is None:
        return "not recorded"
    pct = f" ({level.percent}%)" if level.percent is not None else ""
    cap = f", max_connections {level.max_connections}" if level.max_connections else ""
    return (f"{icon(level.level)} {level.used} of {level.usable} usable slots{pct}{cap} "
            f"at {clock(level.at)}")


def _num(value: int | float | None, unit: str = "") -> str:
    if value is None:
        return "?"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text + unit


def action_text(a: Termination, esc: Escape) -> str:
    who = esc(a.operator) if a.operator else "unknown operator"
    what = f" {esc(a.what)}" if a.what else ""
    of = f" of {a.requested}" if a.requested is not None else ""
    app = esc(a.app) if a.app else "?"
    parts = [f"{clock(a.at)} {who} terminated {_num(a.terminated)}{of}{what} "
             f"connections of {app}"]
    if a.skipped:
        parts.append(f"{a.skipped} skipped")
    if a.failed:
        parts.append(f"{a.failed} failed")
    if a.freed is not None:
        parts.append(f"{a.freed} slots freed")
    if a.refill is True:
        parts.append("refill seen")
    elif a.refill is False:
        parts.append("no refill seen")
    elif isinstance(a.refill, int):
        parts.append(f"refill: {a.refill} connections back" if a.refill else "no refill seen")
    return "; ".join(parts)


def headline(summary: Summary, esc: Escape) -> str:
    """One line for notifications and fallbacks."""
    parts = []
    if summary.now is not None:
        parts.append(f"now {summary.now.used}/{summary.now.usable} slots")
    if summary.before is not None:
        parts.append(f"before {summary.before.used}/{summary.before.usable}")
    if summary.offender is not None:
        o = summary.offender
        ppr = (f" (~{_num(o.pools_per_replica)} pools per replica)"
               if o.pools_per_replica is not None else "")
        parts.append(f"offender {esc(o.service)}{ppr}")
    terminated = sum(a.terminated or 0 for a in summary.actions)
    if terminated:
        parts.append(f"{terminated} connections terminated")
    if summary.budget is not None:
        parts.append(f"budget {summary.budget.verdict}")
    return " · ".join(parts) if parts else "incident summary"


def title(summary: Summary, esc: Escape) -> str:
    s = summary.server
    where = f" on {esc(s.host)}/{esc(s.database)}" if s is not None else ""
    return f"PostgreSQL connection slots{where}"


def sections(summary: Summary, esc: Escape, *, checkbox: tuple[str, str] = ("☑", "☐"),
             bullet: str = "• ") -> list[Section]:
    out: list[Section] = []
    if summary.note:
        out.append(Section("Note", (esc(summary.note),)))
    s = summary.server
    if s is not None:
        port = f":{s.port}" if s.port else ""
        out.append(Section("Server", (
            f"{esc(s.host)}{port} / {esc(s.database)} · PostgreSQL {esc(s.version)}",)))
    out.append(Section("Saturation", (f"Before: {level_text(summary.before)}",
                                      f"Now: {level_text(summary.now)}")))
    if summary.offender is not None or summary.pools_verdict is not None:
        lines = []
        if summary.pools_verdict is not None:
            p = summary.pools_verdict
            lines.append(f"{icon(p.verdict)} {esc(p.summary)}")
        o = summary.offender
        if o is not None:
            expected = f" (expected {o.expected_pools})" if o.expected_pools is not None else ""
            pool_max = f", pool max {o.pool_max}" if o.pool_max is not None else ""
            lines.append(f"{esc(o.service)}: {_num(o.connections)} connections "
                         f"({_num(o.idle)} idle) from {_num(o.replicas)} replicas, about "
                         f"{_num(o.pools_per_replica)} pools per replica{expected}{pool_max}")
        out.append(Section("Offender", tuple(lines)))
    if summary.findings:
        out.append(Section("Findings", tuple(
            f"{icon(f.verdict)} {esc(f.step_id)}: {esc(f.summary)}" for f in summary.findings)))
    out.append(Section("Actions taken", tuple(
        bullet + action_text(a, esc) for a in summary.actions) or ("None",)))
    b = summary.budget
    if b is not None:
        fits = (f"; pool size that fits: {b.pool_size_that_fits}"
                if b.pool_size_that_fits is not None else "")
        lines = [f"{icon(b.verdict)} {b.verdict}: demand {_num(b.demand)} of "
                 f"{_num(b.capacity)} slots{fits}"]
        if b.summary:
            lines.append(esc(b.summary))
        out.append(Section("Budget", tuple(lines)))
    out.append(Section("Next steps", tuple(bullet + esc(n) for n in summary.next_steps)))
    done, todo = checkbox
    out.append(Section("Follow-up checklist", tuple(
        f"{done if c.done else todo} {esc(c.text)}" for c in summary.checklist)))
    if summary.queries:
        out.append(Section("Queries", tuple(
            f"{bullet}{q.count}x {esc(q.application_name)} ({esc(q.state)}): "
            f"{esc(one_line(q.query, 200))}" for q in summary.queries)))
    return out


def footer(summary: Summary, esc: Escape) -> str:
    return f"pgmedic · incident {esc(summary.incident_id)} · {iso(summary.generated_at)}"
