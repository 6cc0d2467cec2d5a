"""The built-in checks and actions of ``runbooks/pool-exhaustion.md``. Pure functions."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from pgmedic.humanize import age
from pgmedic.model import Snapshot
from pgmedic.runbook.analysis import analyse
from pgmedic.runbook.model import FAIL, OK, UNKNOWN, WARN, CheckResult, Context, Param
from pgmedic.runbook.registry import register
from pgmedic.triage.capacity import saturation


def _num(params: Mapping[str, Param], key: str, default: float) -> float:
    v = params.get(key, default)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def _name(service: str) -> str:
    return service or "(unnamed)"


@register("slots")
def check_slots(snapshot: Snapshot, params: Mapping[str, Param], context: Context) -> CheckResult:
    """Slot exhaustion, not an outage: used vs usable, reserved slots, limits, superusers."""
    sat = saturation(snapshot)
    warn_ratio = _num(params, "warn_ratio", 0.8)
    near = _num(params, "near_cap", 0.9)
    near_lims = [lim for lim in snapshot.limits
                 if lim.limit >= 0 and lim.current >= lim.limit * near]
    limits = [{"kind": lim.kind, "name": lim.name, "limit": lim.limit, "current": lim.current}
              for lim in near_lims]
    at_cap = [lim for lim in near_lims if lim.current >= lim.limit]
    su_apps: dict[str, int] = {}
    for b in snapshot.backends:
        if b.superuser:
            su_apps[b.application_name] = su_apps.get(b.application_name, 0) + 1
    full = sat.used + sat.own >= sat.usable
    if full or at_cap:
        verdict = FAIL
    elif sat.ratio >= warn_ratio or limits:
        verdict = WARN
    else:
        verdict = OK
    s = snapshot.server
    reserved = f"{s.superuser_reserved_connections} reserved for superusers"
    if s.reserved_connections:
        reserved += f", {s.reserved_connections} for pg_use_reserved_connections"
    summary = (f"{sat.used} of {sat.usable} usable slots in use ({sat.ratio:.0%}; "
               f"max_connections {s.max_connections}, {reserved})")
    if full:
        summary += ": the server answers, so this is slot exhaustion, not an outage"
    elif verdict == WARN:
        summary += ": close to exhaustion"
    else:
        summary += ": there is room, this is not slot exhaustion"
    if at_cap:
        summary += "; " + ", ".join(f"{lim.kind} {lim.name} at its CONNECTION LIMIT "
                                    f"{lim.limit}" for lim in at_cap)
    if sat.superuser_sessions:
        summary += (f"; {sat.superuser_sessions} application sessions run as superuser and "
                    "can eat the reserved slots too")
    return CheckResult(verdict, summary, {
        "used": sat.used, "usable": sat.usable, "max_connections": sat.max_connections,
        "superuser_reserved_connections": sat.superuser_reserved,
        "reserved_connections": sat.reserved, "free": sat.free_ordinary,
        "ratio": round(sat.ratio, 3), "into_reserved": sat.into_reserved,
        "superuser_sessions": sat.superuser_sessions,
        "superuser_applications": [{"application_name": a, "connections": n}
                                   for a, n in sorted(su_apps.items(), key=lambda kv: -kv[1])],
        "limits_near_cap": limits, "hidden": sat.hidden,
        "other_backends": sum(snapshot.other_backends.values()),
        "outage": False,
    })


@register("holders")
def check_holders(snapshot: Snapshot, params: Mapping[str, Param],
                  context: Context) -> CheckResult:
    """Who holds the slots: services by share, idle ratio, oldest idle, unnamed sessions."""
    a = analyse(snapshot, context)
    total = a.total
    top_n = int(_num(params, "top", 10))
    rows = []
    for svc in a.services[:top_n]:
        rows.append({
            "service": svc.name, "connections": svc.connections,
            "share": round(svc.connections / total, 3) if total else 0.0,
            "idle": svc.idle, "idle_ratio": round(svc.idle_ratio, 3),
            "idle_in_transaction": svc.idle_in_transaction, "active": svc.active,
            "oldest_idle_seconds": (None if svc.oldest_idle_since is None else
                                    round(snapshot.taken_at - svc.oldest_idle_since, 1)),
            "replicas": len(svc.replicas), "applications": len(svc.applications),
        })
    unnamed = next((s.connections for s in a.services if s.name == ""), 0)
    findings: dict[str, object] = {"total": total, "services": len(a.services),
                                   "unnamed": unnamed}
    if not rows:
        return CheckResult(OK, "no client connections besides pgmedic's own", findings)
    top = rows[0]
    findings.update(top_service=top["service"], top_connections=top["connections"],
                    top_share=top["share"], top_idle_ratio=top["idle_ratio"])
    summary = (f"{_name(str(top['service']))} holds {top['connections']} of {total} "
               f"connections ({float(str(top['share'])):.0%}), {top['idle']} idle "
               f"({float(str(top['idle_ratio'])):.0%}), oldest idle "
               f"{age(top['oldest_idle_seconds'])}")  # type: ignore[arg-type]
    verdict = OK
    if unnamed:
        verdict = WARN
        findings["advice"] = ("set application_name in each client (libpq clients read "
                              "PGAPPNAME; asyncpg: server_settings={'application_name': ...})")
        summary += (f"; {unnamed} connections without application_name: set it "
                    "(PGAPPNAME) so they can be told apart")
    sat = saturation(snapshot)
    if sat.level != OK and float(str(top["share"])) >= 0.5:
        verdict = WARN
    return CheckResult(verdict, summary, findings, tuple(rows))


@register("pools")
def check_pools(snapshot: Snapshot, params: Mapping[str, Param], context: Context) -> CheckResult:
    """Too many pools: per service and replica, connections vs pool maximum, and bursts."""
    a = analyse(snapshot, context)
    rows = tuple(e.as_dict() for e in a.estimates[: int(_num(params, "top", 10))])
    findings: dict[str, object] = {
        "offender": a.offender.as_dict() if a.offender else None,
        "pool_max": context.pool_max, "pool_max_source": (
            context.pool_max_source if context.pool_max else "assumed or bursts"),
    }
    if a.offender is not None:
        return CheckResult(FAIL, a.offender.sentence(), findings, rows)
    if not a.estimates:
        return CheckResult(OK, "no named service holds connections", findings, rows)
    big = a.estimates[0]
    return CheckResult(OK, f"no service opens more than one pool per process; the largest: "
                           f"{big.sentence()}", findings, rows)


@register("terminate", kind="action")
def action_terminate(snapshot: Snapshot, params: Mapping[str, Param],
                     context: Context) -> CheckResult:
    """Relieve pressure: the offender's idle connections older than N seconds (previewed)."""
    older = _num(params, "idle_older_than", 60)
    a = analyse(snapshot, context)
    off = a.offender
    findings: dict[str, object] = {"idle_older_than": older, "service": None, "candidates": 0}
    if off is None:
        return CheckResult(OK, "no offender found: nothing to terminate", findings,
                           interactive=True)
    svc = next(s for s in a.services if s.name == off.service)
    cut = snapshot.taken_at - older
    cands = [b for b in snapshot.backends if b.application_name in svc.applications
             and b.state == "idle" and not b.superuser
             and b.state_change is not None and b.state_change <= cut]
    apps = sorted({b.application_name for b in cands} or svc.applications)
    findings.update(service=off.service, candidates=len(cands), applications=apps[:20])
    app_args = " ".join(f"--app {app}" for app in apps[:3]) + (" ..." if len(apps) > 3 else "")
    return CheckResult(
        UNKNOWN,
        f"interactive: run in the TUI or `pgmedic terminate {app_args} --idle-for {older:g}s`; "
        f"{len(cands)} idle connections of {_name(off.service)} older than {older:g}s would be "
        "terminated (pools refill: mitigation, not the fix)",
        findings, interactive=True)


@register("budget")
def check_budget(snapshot: Snapshot, params: Mapping[str, Param],
                 context: Context) -> CheckResult:
    """Budget math: pool_max x pools x max replicas against the usable slots."""
    try:
        module = importlib.import_module("pgmedic.runbook.checks_budget")
    except ModuleNotFoundError as exc:
        if exc.name != "pgmedic.runbook.checks_budget":
            raise
        return CheckResult(UNKNOWN, "budget math is not available in this build: "
                                    "run `pgmedic budget --services FILE`", {})
    result: CheckResult = module.check(snapshot, params, context)
    return result


@register("share", kind="action")
def action_share(snapshot: Snapshot, params: Mapping[str, Param],
                 context: Context) -> CheckResult:
    """Share: the incident summary, previewed, posted to the webhook and saved."""
    return CheckResult(UNKNOWN, "interactive: run in the TUI or `pgmedic share`", {},
                       interactive=True)


FOLLOW_UP = (
    "single shared pool at module/process level",
    "pool size configurable via an environment variable (e.g. PG_POOL_MAX_SIZE)",
    "close() on individual instances is a no-op",
    "the shared pool closes on process shutdown",
    "napkin math checks out: pool_max x max_replicas < max_connections - admin headroom",
)


@register("follow-up")
def check_follow_up(snapshot: Snapshot, params: Mapping[str, Param],
                    context: Context) -> CheckResult:
    """Follow-up checklist for the fix, from the article; carried into the report."""
    off = analyse(snapshot, context).offender
    who = f" in {_name(off.service)}" if off else ""
    return CheckResult(UNKNOWN, f"to confirm in code review{who}: " + "; ".join(FOLLOW_UP),
                       {"items": [{"item": i, "done": False} for i in FOLLOW_UP],
                        "service": off.service if off else None})
