"""Runbooks as plain data: steps parsed from Markdown, and what a check finds.

No I/O here: :mod:`pgmedic.runbook.parser` turns text into these, the engine fills
:class:`CheckResult`, the command line and the TUI show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OK, WARN, FAIL, UNKNOWN = "ok", "warn", "fail", "unknown"
VERDICTS = (OK, WARN, FAIL, UNKNOWN)

#: a parameter value from a ``pgmedic`` block
Param = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Block:
    """What a step runs: a built-in check or action by name, or a read-only SQL query."""

    kind: str  # "check", "action" or "sql"
    name: str  # the check/action name; "sql" for a query
    params: Mapping[str, Param] = field(default_factory=dict)
    sql: str | None = None
    line: int = 0  # where the block starts in its file


@dataclass(frozen=True, slots=True)
class Step:
    id: str  # from the block's ``id:`` or the heading, slugified
    title: str  # the ``##`` heading, without a leading "1." number
    prose: str  # the Markdown of the step, the pgmedic block left out
    block: Block | None  # None: a step to read, nothing to run
    line: int  # line of the heading

    @property
    def check(self) -> str | None:
        """The name of what the step runs (``slots``, ``pools``, ``terminate``, ``sql``...)."""
        return self.block.name if self.block else None


@dataclass(frozen=True, slots=True)
class Runbook:
    id: str
    title: str
    summary: str
    intro: str  # Markdown before the first step
    steps: tuple[Step, ...]
    source: str  # file path, or "bundled:<name>" / "<string>"

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A verdict in one sentence, with the numbers behind it."""

    verdict: str  # ok, warn, fail, unknown
    summary: str  # one sentence; may quote application names: show with untrusted.printable
    findings: dict[str, Any] = field(default_factory=dict)  # JSON-safe numbers
    rows: tuple[dict[str, Any], ...] = ()  # a table (services, SQL rows), JSON-safe
    interactive: bool = False  # an action that needs the TUI or its own command

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict, "summary": self.summary,
                               "findings": self.findings}
        if self.rows:
            out["rows"] = list(self.rows)
        return out


@dataclass(frozen=True, slots=True)
class SqlResult:
    """Rows of a runbook's SQL step, fetched by the caller (the engine does no I/O)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What the checks know beyond the snapshot. Built at the edge (flags, env, manifest)."""

    pool_max: int | None = None  # --pool-max, else PG_POOL_MAX_SIZE
    pool_max_source: str = "flag"  # flag or env
    services: Mapping[str, int] = field(default_factory=dict)  # service -> pool_max (manifest)
    replica_pattern: str | None = None  # regex with a (?P<service>...) group
    burst_gap: float = 0.5  # seconds between backend_start bursts (pools)
    interactive: bool = False  # True in the TUI: actions are offered, not reported
    sql_results: Mapping[str, SqlResult] = field(default_factory=dict)  # step id -> rows
    manifest_path: str | None = None  # for the budget check
    extra: Mapping[str, Any] = field(default_factory=dict)  # for checks of other modules


def context_from(environ: Mapping[str, str], *, pool_max: int | None = None,
                 services: Mapping[str, int] | None = None, **kw: Any) -> Context:
    """``--pool-max`` wins over ``PG_POOL_MAX_SIZE``; a malformed variable is ignored."""
    source = "flag"
    if pool_max is None:
        raw = environ.get("PG_POOL_MAX_SIZE", "").strip()
        if raw.isdigit() and int(raw) > 0:
            pool_max, source = int(raw), "env"
    return Context(pool_max=pool_max, pool_max_source=source, services=dict(services or {}),
                   **kw)
