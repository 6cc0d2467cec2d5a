"""The incident summary: what the team is told, built from the timeline and the live state.

Pure: :func:`build_summary` takes a :class:`~pgmedic.report.timeline.Timeline` and an optional
live :class:`~pgmedic.model.Snapshot` and returns a :class:`Summary` (plain frozen data). The
renderers in :mod:`pgmedic.report.formats` turn it into Markdown, chat payloads and JSON.
Strings in a ``Summary`` are raw (possibly hostile: application and role names); every
renderer escapes them for its own format.

Event data this module reads (every key optional; missing or malformed keys are skipped,
never an error; other keys are ignored). Engineers who add events, please follow it:

``STARTED``   ``host``, ``port``, ``database``, ``version`` (str, "16.2"), ``operator`` (role),
              plus the saturation keys below (used as "before" when no SNAPSHOT exists).
``SNAPSHOT``  saturation keys: ``used`` (client backends), ``usable`` (max - reserved),
              ``max_connections``, ``superuser_reserved``, ``reserved``, ``level``
              (ok/warn/fail). :func:`saturation_data` builds exactly these from a Snapshot.
              The FIRST snapshot event is "before".
``FINDING``   ``step_id`` (str), ``verdict`` (ok/warn/fail/unknown), ``summary`` (one sentence),
              ``findings`` (list of str), ``next_steps`` (list of str, optional);
              the pools step adds ``offender``: ``{"service", "connections", "idle",
              "replicas", "estimated_pools_per_replica", "expected_pools_per_replica",
              "pool_max"}``; the budget step (``step_id == "budget"``) adds ``budget``:
              ``{"fits": bool, "demand": int, "capacity": int, "pool_size_that_fits": int,
              "verdict": str}`` (the keys may also sit directly in ``data``).
              The last finding per ``step_id`` wins.
``ACTION``    ``action`` ("terminate"), ``app``, ``counts``: ``{"requested", "terminated",
              "skipped", "failed"}`` (or those keys directly in data), ``what`` (e.g.
              "idle > 300 s"), ``operator``, ``freed`` (slots back), ``refill`` (connections
              the pools reopened since, int; or bool).
``STEP``      ``step_id``, ``status`` (done/skipped); the checklist step adds ``checklist``:
              ``[{"text": str, "done": bool}, ...]`` (the latest list wins), or one item per
              event as ``item`` + ``done``.
``NOTE``      ``text`` (else the title is the note).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pgmedic.model import Snapshot
from pgmedic.report.timeline import ACTION, FINDING, NOTE, SNAPSHOT, STARTED, STEP, Timeline
from pgmedic.triage.capacity import saturation

SCHEMA = 1

#: the follow-up checklist for the fix, when the timeline has none of its own
DEFAULT_CHECKLIST = (
    "One shared pool per process (not one per client object)",
    "Pool size read from the environment (PG_POOL_MAX_SIZE)",
    "close() on client instances is a no-op",
    "The shared pool is closed once at shutdown",
    "The budget math holds: pool_max x pools x max replicas (with surge) < usable slots",
)

MAX_QUERIES = 10
QUERY_CHARS = 200


@dataclass(frozen=True, slots=True)
class ServerLine:
    host: str
    port: int | None
    database: str
    version: str


@dataclass(frozen=True, slots=True)
class Level:
    """Saturation at a moment: used of usable slots."""

    used: int
    usable: int
    max_connections: int | None
    level: str  # ok / warn / fail / unknown
    at: float | None  # epoch seconds

    @property
    def percent(self) -> int | None:
        return round(100 * self.used / self.usable) if self.usable else None


@dataclass(frozen=True, slots=True)
class Offender:
    service: str
    connections: int | None
    idle: int | None
    replicas: int | None
    pools_per_replica: float | None
    expected_pools: int | None
    pool_max: int | None


@dataclass(frozen=True, slots=True)
class StepFinding:
    step_id: str
    verdict: str
    summary: str


@dataclass(frozen=True, slots=True)
class Termination:
    at: float
    app: str
    terminated: int | None
    requested: int | None
    skipped: int | None
    failed: int | None
    what: str
    operator: str
    freed: int | None
    refill: int | bool | None
    title: str


@dataclass(frozen=True, slots=True)
class Budget:
    verdict: str  # fits / over / unknown
    demand: int | None
    capacity: int | None
    pool_size_that_fits: int | None
    summary: str


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    text: str
    done: bool


@dataclass(frozen=True, slots=True)
class QueryLine:
    application_name: str
    state: str
    count: int
    query: str


@dataclass(frozen=True, slots=True)
class Summary:
    incident_id: str
    generated_at: float
    server: ServerLine | None
    before: Level | None
    now: Level | None
    offender: Offender | None
    pools_verdict: StepFinding | None
    findings: tuple[StepFinding, ...]
    actions: tuple[Termination, ...]
    budget: Budget | None
    next_steps: tuple[str, ...]
    checklist: tuple[ChecklistItem, ...]
    notes: tuple[tuple[float, str], ...] = ()
    note: str | None = None  # the engineer's words for this post
    queries: tuple[QueryLine, ...] = ()
    timeline: tuple[tuple[float, str, str], ...] = field(default=())  # (at, kind, title)

    @property
    def title(self) -> str:
        where = ""
        if self.server is not None:
            where = f" on {self.server.host}/{self.server.database}"
        return f"PostgreSQL connection slots{where}: incident {self.incident_id}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["schema"] = SCHEMA
        out["title"] = self.title
        return out


def saturation_data(snapshot: Snapshot) -> dict[str, Any]:
    """The saturation keys of a SNAPSHOT (or STARTED) event, from a live Snapshot."""
    sat = saturation(snapshot)
    return {"used": sat.used, "usable": sat.usable, "max_connections": sat.max_connections,
            "superuser_reserved": sat.superuser_reserved, "reserved": sat.reserved,
            "level": sat.level}


# -- defensive readers -------------------------------------------------------------------
def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value == value and abs(value) < 1e15:
        return float(value)
    return None


def _str(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    return default


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strs(value: Any) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [v for v in value if isinstance(v, str)]


def _level_from(data: Mapping[str, Any], at: float | None) -> Level | None:
    used, usable = _int(data.get("used")), _int(data.get("usable"))
    if used is None or usable is None:
        return None
    level = _str(data.get("level"), "unknown")
    return Level(used=used, usable=usable, max_connections=_int(data.get("max_connections")),
                 level=level if level in ("ok", "warn", "fail") else "unknown", at=at)


def _offender(data: Mapping[str, Any]) -> Offender | None:
    o = _map(data.get("offender"))
    service = _str(o.get("service") or o.get("application_name"))
    if not o or not service:
        return None
    return Offender(
        service=service, connections=_int(o.get("connections")), idle=_int(o.get("idle")),
        replicas=_int(o.get("replicas")),
        pools_per_replica=_float(o.get("estimated_pools_per_replica")),
        expected_pools=_int(o.get("expected_pools_per_replica")),
        pool_max=_int(o.get("pool_max")),
    )


def _budget(data: Mapping[str, Any]) -> Budget | None:
    b = _map(data.get("budget")) or data
    fits = b.get("fits")
    verdict = _str(b.get("verdict"))
    if isinstance(fits, bool):
        verdict = "fits" if fits else "over"
    elif verdict not in ("fits", "over"):
        verdict = {"ok": "fits", "fail": "over"}.get(_str(data.get("verdict")), "unknown")
    return Budget(
        verdict=verdict,
        demand=_int(b.get("demand", b.get("total"))),
        capacity=_int(b.get("capacity", b.get("available"))),
        pool_size_that_fits=_int(b.get("pool_size_that_fits", b.get("fitting_pool_size"))),
        summary=_str(data.get("summary")),
    )


def _termination(at: float, title: str, data: Mapping[str, Any]) -> Termination:
    counts = _map(data.get("counts"))

    def count(key: str) -> int | None:
        return _int(counts.get(key, data.get(key)))

    refill_raw = data.get("refill")
    refill: int | bool | None = (refill_raw if isinstance(refill_raw, bool)
                                 else _int(refill_raw))
    return Termination(
        at=at, app=_str(data.get("app")), terminated=count("terminated"),
        requested=count("requested"), skipped=count("skipped"), failed=count("failed"),
        what=_str(data.get("what")), operator=_str(data.get("operator")),
        freed=_int(data.get("freed")), refill=refill, title=title,
    )


def _checklist(timeline: Timeline) -> tuple[ChecklistItem, ...]:
    items: dict[str, bool] = dict.fromkeys(DEFAULT_CHECKLIST, False)
    for event in timeline.of_kind(STEP):
        listed = event.data.get("checklist")
        if isinstance(listed, list) and listed:
            fresh: dict[str, bool] = {}
            for entry in listed:
                if isinstance(entry, Mapping):
                    text = _str(entry.get("text") or entry.get("item"))
                    if text:
                        fresh[text] = entry.get("done") is True
                elif isinstance(entry, str) and entry:
                    fresh[entry] = False
            if fresh:
                items = fresh
        item = _str(event.data.get("item"))
        if item:
            items[item] = event.data.get("done") is True
    return tuple(ChecklistItem(text=t, done=d) for t, d in items.items())


def _queries(snapshot: Snapshot) -> tuple[QueryLine, ...]:
    seen: dict[tuple[str, str, str], int] = {}
    for b in snapshot.backends:
        if b.query:
            key = (b.application_name, b.state, b.query[:QUERY_CHARS])
            seen[key] = seen.get(key, 0) + 1
    ranked = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_QUERIES]
    return tuple(QueryLine(application_name=a, state=s, count=n, query=q)
                 for (a, s, q), n in ranked)


def _next_steps(offender: Offender | None, budget: Budget | None,
                actions: Sequence[Termination], extra: Sequence[str]) -> tuple[str, ...]:
    steps: list[str] = []
    if offender is not None:
        steps.append(f"Fix {offender.service}: one shared pool per process, sized from "
                      "PG_POOL_MAX_SIZE; close() on instances a no-op")
    if any(a.refill for a in actions):
        steps.append("Pools refilled after the terminations: they were mitigation, "
                     "ship the fix before the next peak")
    if budget is not None and budget.verdict == "over":
        size = (f" to {budget.pool_size_that_fits} per pool" if budget.pool_size_that_fits
                else "")
        steps.append(f"Shrink pool sizes{size} or put PgBouncer (transaction mode) in front")
    steps.extend(extra)
    if not steps:
        steps.append("Watch saturation; finish the follow-up checklist")
    return tuple(dict.fromkeys(s for s in steps if s))


def build_summary(timeline: Timeline, snapshot: Snapshot | None, *,
                  include_queries: bool = False, note: str | None = None,
                  now: float | None = None) -> Summary:
    """The summary of an incident: the timeline's findings plus the live state now."""
    started = timeline.first(STARTED)
    first_snap = timeline.first(SNAPSHOT)

    server: ServerLine | None = None
    if snapshot is not None:
        s = snapshot.server
        server = ServerLine(host=s.host, port=s.port, database=s.database, version=s.version)
    elif started is not None:
        d = started.data
        server = ServerLine(host=_str(d.get("host"), "?"), port=_int(d.get("port")),
                            database=_str(d.get("database"), "?"),
                            version=_str(d.get("version"), "?"))

    before = None
    if first_snap is not None:
        before = _level_from(first_snap.data, first_snap.at)
    if before is None and started is not None:
        before = _level_from(started.data, started.at)

    current = None
    if snapshot is not None:
        current = _level_from(saturation_data(snapshot), snapshot.taken_at)

    by_step: dict[str, StepFinding] = {}
    offender: Offender | None = None
    pools: StepFinding | None = None
    budget: Budget | None = None
    extra_steps: list[str] = []
    for event in timeline.of_kind(FINDING):
        d = event.data
        step_id = _str(d.get("step_id"), "check")
        verdict = _str(d.get("verdict"), "unknown")
        finding = StepFinding(step_id=step_id, verdict=verdict,
                              summary=_str(d.get("summary")) or event.title)
        by_step[step_id] = finding
        found = _offender(d)
        if found is not None:
            offender, pools = found, finding
        if step_id == "budget" or isinstance(d.get("budget"), Mapping):
            budget = _budget(d)
        extra_steps.extend(_strs(d.get("next_steps")))

    actions = tuple(_termination(e.at, e.title, e.data) for e in timeline.of_kind(ACTION))
    notes = tuple((e.at, _str(e.data.get("text")) or e.title) for e in timeline.of_kind(NOTE))
    return Summary(
        incident_id=timeline.incident_id,
        generated_at=time.time() if now is None else now,
        server=server, before=before, now=current, offender=offender, pools_verdict=pools,
        findings=tuple(by_step.values()), actions=actions, budget=budget,
        next_steps=_next_steps(offender, budget, actions, extra_steps),
        checklist=_checklist(timeline), notes=notes,
        note=note.strip() if note and note.strip() else None,
        queries=_queries(snapshot) if include_queries and snapshot is not None else (),
        timeline=tuple((e.at, e.kind, e.title) for e in timeline.events),
    )
