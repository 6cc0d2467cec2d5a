"""Which backends a termination hits: the filter, the preview, the outcome. Pure, no I/O.

``pg/actions.py`` fetches candidate rows and runs the one terminating statement;
everything that decides *which* rows are targets, which are skipped and why, and what the
verification means lives here, where it is tested in milliseconds.

Only idle states can be targeted: terminating an active query is not what this action is
for (``pg_cancel_backend`` is), and an idle pooled connection is the one a pool can lose
without an error reaching a user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from pgmedic.errors import InputError
from pgmedic.model import HIDDEN_STATE
from pgmedic.triage.services import ServiceNamer

IDLE = "idle"
IDLE_IN_TRANSACTION = "idle in transaction"
IDLE_IN_TRANSACTION_ABORTED = "idle in transaction (aborted)"
#: the states a termination may target
TARGETABLE_STATES = (IDLE, IDLE_IN_TRANSACTION, IDLE_IN_TRANSACTION_ABORTED)

#: per-target results of the terminating statement
TERMINATED = "terminated"
GONE = "gone"  # the backend had exited already
CHANGED = "changed"  # pid now belongs to another session (backend_start differs)
RENAMED = "renamed"  # application_name changed since the preview
BUSY = "busy"  # no longer in a targeted state, or not idle long enough any more
HIDDEN = "hidden"  # its state is not visible to the operator's role
SUPERUSER = "superuser"  # a superuser's session, not asked for (or operator not a superuser)
DENIED = "denied"  # the operator may not signal it
OWN = "own"  # pgmedic's own backend (never)
FAILED = "failed"  # pg_terminate_backend returned false
RESULTS = (TERMINATED, GONE, CHANGED, RENAMED, BUSY, HIDDEN, SUPERUSER, DENIED, OWN, FAILED)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|sec|s|m|h|d)?")
_UNIT_S = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0,
           "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``30s``, ``5m``, ``1h``, ``1h30m``, ``250ms``, ``90`` (seconds) -> seconds.

    Raises :class:`InputError` with a one-line message for anything else.
    """
    raw = text.strip().lower()
    pos, total, parts = 0, 0.0, 0
    while pos < len(raw):
        m = _DURATION_PART.match(raw, pos)
        if m is None or (m.group(2) is None and (parts or m.end() != len(raw))):
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos, parts = m.end(), parts + 1
    if parts == 0 or pos != len(raw):
        raise InputError(f"not a duration: {text!r}",
                         "use a number of seconds or units like 30s, 5m, 1h, 1h30m")
    return total


def parse_state(text: str) -> str:
    """A state as the operator typed it (``idle-in-transaction`` works) -> pg's spelling."""
    norm = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    if norm in TARGETABLE_STATES:
        return norm
    raise InputError(f"cannot terminate sessions in state {text!r}",
                     "only idle states are targeted: " + ", ".join(
                         repr(s) for s in TARGETABLE_STATES))


_NAMER = ServiceNamer()


def matches_service(application_name: str, service: str) -> bool:
    """``checkout-api`` matches ``checkout-api`` and its replicas' names as the overview
    collapses them (``checkout-api-7d9f8c6b5-x2x9q``, ``checkout-api-0``, see
    :mod:`pgmedic.triage.services`), not ``checkout-api-worker``."""
    if application_name == service:
        return True
    if not service or not application_name.startswith(service):
        return False
    return _NAMER(application_name)[0] == service


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """The filter, exactly: the preview lists what it matches, the termination re-checks it."""

    applications: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    states: tuple[str, ...] = (IDLE,)
    idle_for_s: float = 0.0  # idle for longer than this (state_change age)
    database: str | None = None
    user: str | None = None
    limit: int | None = None
    include_superusers: bool = False
    pids: tuple[int, ...] = ()  # only these backends (a selection in the TUI); () = any

    def check(self) -> TargetSpec:
        """Raise :class:`InputError` unless the spec can be used; return it."""
        if not self.applications and not self.services:
            raise InputError("name the application whose sessions to terminate",
                             "use --app NAME (repeatable) or --service NAME")
        if not self.states:
            raise InputError("no state to target", "use --state idle")
        for s in self.states:
            parse_state(s)
        if self.idle_for_s < 0:
            raise InputError("--idle-for cannot be negative")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"--limit must be at least 1, not {self.limit}")
        return self

    def matches_app(self, application_name: str) -> bool:
        return application_name in self.applications or any(
            matches_service(application_name, s) for s in self.services)

    def describe(self) -> str:
        """One line: what the filter selects (untrusted names included: escape for display)."""
        names = [*self.applications, *(f"{s} (service)" for s in self.services)]
        out = f"{' or '.join(self.states)} sessions of {', '.join(names)}"
        if self.idle_for_s > 0:
            out += f" idle for more than {_short(self.idle_for_s)}"
        if self.database is not None:
            out += f" in database {self.database}"
        if self.user is not None:
            out += f" of role {self.user}"
        if self.pids:
            out += f", only pid {', '.join(str(p) for p in self.pids)}"
        if self.include_superusers:
            out += ", superuser sessions included"
        if self.limit is not None:
            out += f", at most {self.limit} (oldest idle first)"
        return out

    def as_dict(self) -> dict[str, object]:
        return {"applications": list(self.applications), "services": list(self.services),
                "states": list(self.states), "idle_for_seconds": self.idle_for_s,
                "database": self.database, "user": self.user, "limit": self.limit,
                "include_superusers": self.include_superusers, "pids": list(self.pids)}


def _short(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


class Candidate(NamedTuple):
    """A client backend row the preview query returned, before the filter is applied."""

    pid: int
    application_name: str
    usename: str | None
    datname: str | None
    client_addr: str | None
    client_port: int | None
    state: str  # or HIDDEN_STATE
    backend_start: float | None  # epoch seconds, server clock
    state_change: float | None
    superuser: bool
    can_signal: bool  # the operator may signal it (pg_has_role / pg_signal_backend / super)


class Target(NamedTuple):
    """One backend the termination will hit, as the operator saw it in the preview."""

    pid: int
    application_name: str
    usename: str | None
    datname: str | None
    client_addr: str | None
    client_port: int | None
    state: str
    backend_start: float  # the guard against pid reuse
    idle_s: float  # seconds in this state when previewed
    superuser: bool

    @property
    def client(self) -> str:
        return client_of(self.client_addr, self.client_port)


class Skipped(NamedTuple):
    """A backend the filter matched that will not be terminated, and why."""

    pid: int
    application_name: str
    usename: str | None
    datname: str | None
    client: str
    state: str
    reason: str  # SUPERUSER, DENIED or HIDDEN
    detail: str  # one line for humans


def client_of(addr: str | None, port: int | None) -> str:
    if addr is None:
        return "local" if port == -1 else "-"
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


@dataclass(frozen=True, slots=True)
class Operator:
    """Who terminates: the database role and its privileges (from the server)."""

    role: str
    is_superuser: bool
    can_signal: bool  # superuser or pg_signal_backend
    own_pid: int


@dataclass(frozen=True, slots=True)
class Preview:
    spec: TargetSpec
    operator: Operator
    taken_at: float  # server clock
    targets: tuple[Target, ...]
    skipped: tuple[Skipped, ...] = ()
    over_limit: int = 0  # matching targets left out by --limit
    server: str = ""  # host:port/db, never a password

    @property
    def count(self) -> int:
        return len(self.targets)

    @property
    def applications(self) -> tuple[str, ...]:
        return tuple(sorted({t.application_name for t in self.targets}))


def build_preview(spec: TargetSpec, operator: Operator, rows: list[Candidate],
                  taken_at: float, server: str = "") -> Preview:
    """Apply the filter to candidate rows: targets (oldest idle first) and skipped rows.

    Candidates are client backends already filtered in SQL by application (or service
    prefix), database and user; pgmedic's own backend is dropped again here regardless.
    """
    targets: list[Target] = []
    skipped: list[Skipped] = []
    states = set(spec.states)
    for r in rows:
        if r.pid == operator.own_pid or not spec.matches_app(r.application_name):
            continue
        if spec.pids and r.pid not in spec.pids:
            continue
        if spec.database is not None and r.datname != spec.database:
            continue
        if spec.user is not None and r.usename != spec.user:
            continue
        if r.state == HIDDEN_STATE or r.backend_start is None:
            skipped.append(_skip(r, HIDDEN, f"its state is hidden from role {operator.role}: "
                                            "GRANT pg_read_all_stats (or pg_monitor)"))
            continue
        if r.state not in states:
            continue
        idle_s = 0.0 if r.state_change is None else max(0.0, taken_at - r.state_change)
        if idle_s <= spec.idle_for_s:
            continue
        if r.superuser and not (operator.is_superuser and spec.include_superusers):
            detail = ("a superuser's session: pass --include-superusers to terminate it"
                      if operator.is_superuser else
                      f"a superuser's session: only a superuser may terminate it, "
                      f"and {operator.role} is not one")
            skipped.append(_skip(r, SUPERUSER, detail))
            continue
        if not r.can_signal:
            skipped.append(_skip(r, DENIED, f"role {operator.role} may not signal role "
                                            f"{r.usename}: needs pg_signal_backend or "
                                            "membership in that role"))
            continue
        targets.append(Target(r.pid, r.application_name, r.usename, r.datname, r.client_addr,
                              r.client_port, r.state, r.backend_start, idle_s, r.superuser))
    targets.sort(key=lambda t: (-t.idle_s, t.pid))
    over = 0
    if spec.limit is not None and len(targets) > spec.limit:
        over = len(targets) - spec.limit
        del targets[spec.limit:]
    skipped.sort(key=lambda s: (s.reason, s.application_name, s.pid))
    return Preview(spec=spec, operator=operator, taken_at=taken_at, targets=tuple(targets),
                   skipped=tuple(skipped), over_limit=over, server=server)


def _skip(r: Candidate, reason: str, detail: str) -> Skipped:
    return Skipped(r.pid, r.application_name, r.usename, r.datname,
                   client_of(r.client_addr, r.client_port), r.state, reason, detail)


class TargetResult(NamedTuple):
    target: Target
    result: str  # one of RESULTS
    detail: str


RESULT_DETAIL = {
    TERMINATED: "terminated",
    GONE: "had already exited",
    CHANGED: "the pid now belongs to another session (backend_start differs): not touched",
    RENAMED: "its application_name changed since the preview: not touched",
    BUSY: "no longer idle (or not idle long enough) since the preview: not touched",
    HIDDEN: "its state is no longer visible to this role: not touched",
    SUPERUSER: "it runs as a superuser now: not touched",
    DENIED: "this role may not signal it: not touched",
    OWN: "pgmedic's own backend: never touched",
    FAILED: "pg_terminate_backend returned false (it may have exited meanwhile)",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    preview: Preview
    results: tuple[TargetResult, ...]
    terminated_at: float  # server clock, when the statement ran
    client_before: int  # client backends (pgmedic's own excluded) just before
    audit_log: str | None = None  # where the audit lines went

    @property
    def terminated(self) -> tuple[Target, ...]:
        return tuple(r.target for r in self.results if r.result == TERMINATED)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.result] = out.get(r.result, 0) + 1
        return out


@dataclass(frozen=True, slots=True)
class Verification:
    terminated: int
    exited: int  # of the terminated backends, how many are gone from pg_stat_activity
    client_before: int
    client_after: int  # right after they exited
    waited_s: float  # the wait before counting reopened connections (0: not measured)
    reopened: dict[str, int] = field(default_factory=dict)  # application -> new connections
    client_after_wait: int | None = None

    @property
    def freed(self) -> int:
        return self.client_before - self.client_after

    @property
    def reopened_total(self) -> int:
        return sum(self.reopened.values())

    def advice(self) -> str:
        """One paragraph for the operator: what happened and why it is not the fix."""
        text = (f"{self.terminated} terminated, {self.exited} exited; client connections "
                f"{self.client_before} -> {self.client_after}")
        text += (f" ({self.freed} slots freed)." if self.freed >= 0
                 else " (others connected meanwhile).")
        if self.waited_s > 0:
            apps = ", ".join(f"{app or '(unnamed)'} {n}" for app, n in
                             sorted(self.reopened.items(), key=lambda kv: -kv[1]) if n)
            text += (f" Within {self.waited_s:g} s the same application(s) reopened "
                     f"{self.reopened_total}" + (f" ({apps})" if apps else "") + ".")
        text += (" This is mitigation, not the fix: pools refill. The fix is one shared pool "
                 "per process (close() on instances a no-op, the pool closed once at shutdown, "
                 "its size from PG_POOL_MAX_SIZE).")
        return text

    def as_dict(self) -> dict[str, object]:
        return {"terminated": self.terminated, "exited": self.exited,
                "client_before": self.client_before, "client_after": self.client_after,
                "freed": self.freed, "waited_seconds": self.waited_s,
                "reopened": dict(self.reopened), "reopened_total": self.reopened_total,
                "client_after_wait": self.client_after_wait, "advice": self.advice()}


def target_dict(t: Target) -> dict[str, object]:
    return {"pid": t.pid, "application_name": t.application_name, "user": t.usename,
            "database": t.datname, "client": t.client, "state": t.state,
            "idle_seconds": round(t.idle_s, 3), "backend_start": t.backend_start,
            "superuser": t.superuser}


def skipped_dict(s: Skipped) -> dict[str, object]:
    return {"pid": s.pid, "application_name": s.application_name, "user": s.usename,
            "database": s.datname, "client": s.client, "state": s.state,
            "reason": s.reason, "detail": s.detail}


def timeline_entry(outcome: Outcome, verification: Verification | None,
                   operator: str = "") -> tuple[str, dict[str, object]]:
    """(title, data) for the incident timeline's ACTION event (the keys of the ACTION schema
    in :mod:`pgmedic.report.summary`, plus the exact filter and pids)."""
    apps = ", ".join(outcome.preview.applications) or ", ".join(
        outcome.preview.spec.applications + outcome.preview.spec.services)
    n = len(outcome.terminated)
    title = f"terminated {n} of {len(outcome.results)} {apps} backends"
    counts = outcome.counts()
    data: dict[str, object] = {
        "action": "terminate",
        "app": apps,
        "what": outcome.preview.spec.describe(),
        "operator": operator or outcome.preview.operator.role,
        "counts": {"requested": len(outcome.results), "terminated": n,
                   "skipped": len(outcome.preview.skipped),
                   "failed": len(outcome.results) - n},
        "filter": outcome.preview.spec.as_dict(),
        "results": counts,
        "skipped": len(outcome.preview.skipped),
        "pids": [t.pid for t in outcome.terminated],
        "audit_log": outcome.audit_log,
    }
    if verification is not None:
        data["verification"] = verification.as_dict()
        data["freed"] = verification.freed
        title += f": {verification.freed} slots freed"
        if verification.waited_s > 0:
            data["refill"] = verification.reopened_total
            title += f", {verification.reopened_total} reopened within {verification.waited_s:g} s"
    return title, data
