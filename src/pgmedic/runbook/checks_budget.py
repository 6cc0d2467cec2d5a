"""Runbook step 5, budget math: the same calculation as ``pgmedic budget``, live-prefilled.

Imported lazily by :func:`pgmedic.runbook.checks.check_budget` through :func:`check`.
No I/O: the manifest arrives parsed. The caller (the ``runbook`` command, the TUI) reads
the file and puts the :class:`~pgmedic.triage.manifest.Manifest` in
``context.extra["manifest"]`` (see :func:`context_with_manifest`). Without a manifest the
services are the ones connected now, at their current replica count, each with ONE shared
pool of its pool maximum (``context.services``, ``--pool-max``/``PG_POOL_MAX_SIZE``, or
the estimate's): "would the fix fit at today's scale?".

Block parameters (all optional): ``headroom`` (N or "N%"), ``reserve``, ``max_connections``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pgmedic.errors import InputError
from pgmedic.model import Snapshot
from pgmedic.runbook.model import FAIL, OK, UNKNOWN, WARN, CheckResult, Context, Param
from pgmedic.triage.budget import Budget, BudgetInputs, Observed, compute, inputs_from
from pgmedic.triage.manifest import (
    MAX_CONNECTIONS_LIMIT,
    Manifest,
    ServiceSpec,
    check_int,
    parse_headroom,
    parse_manifest,
)
from pgmedic.untrusted import printable

#: the key of ``Context.extra`` that holds the parsed manifest
MANIFEST_KEY = "manifest"


def context_with_manifest(context: Context, text: str, source: str) -> Context:
    """``context`` with the manifest parsed from ``text`` (raises InputError when broken)."""
    manifest = parse_manifest(text, source, default_pool_max=context.pool_max)
    return replace(context, extra={**context.extra, MANIFEST_KEY: manifest},
                   manifest_path=source)


def _estimates(snapshot: Snapshot, context: Context) -> tuple[list[Any], list[Any]]:
    from pgmedic.runbook.analysis import analyse

    a = analyse(snapshot, context)
    return list(a.services), list(a.estimates)


def observed_from_analysis(specs: Iterable[ServiceSpec], services: Iterable[Any],
                           estimates: Iterable[Any]) -> tuple[dict[str, Observed],
                                                              dict[str, int]]:
    """Observed values per declared service, from the runbook's service analysis (its
    names, replicas and pools-per-replica estimates), and connections no service matches."""
    est = {e.service: float(e.estimated_pools_per_replica) for e in estimates}
    specs = list(specs)
    acc: dict[str, list[Any]] = {s.name: [] for s in specs}
    unmatched: dict[str, int] = {}
    for svc in services:
        for spec in specs:
            pat = spec.app_pattern
            if fnmatch.fnmatchcase(svc.name, pat) or any(
                    fnmatch.fnmatchcase(app, pat) for app in svc.applications):
                acc[spec.name].append(svc)
                break
        else:
            unmatched[svc.name] = unmatched.get(svc.name, 0) + svc.connections
    observed = {}
    for name, svcs in acc.items():
        if not svcs:
            continue
        replicas = [r for s in svcs for r in s.replicas.values()]
        pools = [est[s.name] for s in svcs if s.name in est]
        observed[name] = Observed(
            connections=sum(s.connections for s in svcs), replicas=len(replicas),
            max_per_replica=max((r.connections for r in replicas), default=0),
            pools_per_replica=max(pools) if pools else None)
    return observed, unmatched


def budget_inputs(snapshot: Snapshot, context: Context,
                  params: Mapping[str, Param] | None = None) -> BudgetInputs:
    """What the runbook step and the TUI's budget widget start from."""
    params = params or {}
    manifest = context.extra.get(MANIFEST_KEY)
    if manifest is not None and not isinstance(manifest, Manifest):
        manifest = None
    services, estimates = _estimates(snapshot, context)
    if manifest is not None and manifest.services:
        specs = list(manifest.services)
    else:
        est = {e.service: e for e in estimates}
        specs = []
        for svc in services:
            if not svc.name:
                continue  # unnamed sessions are many programs: no pool to size
            e = est.get(svc.name)
            size = context.services.get(svc.name) or context.pool_max or (
                e.pool_max if e is not None else None)
            if not size:
                continue
            specs.append(ServiceSpec(name=svc.name, pool_max=int(size), pools_per_replica=1,
                                     replicas=max(1, len(svc.replicas))))
    overrides: dict[str, Any] = {}
    if "headroom" in params:
        overrides["headroom"] = parse_headroom(params["headroom"], "headroom")
    for key in ("reserve", "max_connections"):
        if key in params:
            overrides[key] = check_int(params[key], key, minimum=0 if key == "reserve" else 1,
                                       maximum=MAX_CONNECTIONS_LIMIT)
    base = inputs_from(manifest, snapshot, services=specs, **overrides)
    observed, unmatched = observed_from_analysis(specs, services, estimates)
    return replace(base, observed=observed, unmatched=unmatched)


def budget_check(snapshot: Snapshot, manifest: Manifest | None,
                 observed: Iterable[Any] | None = None,
                 ) -> tuple[str, str, dict[str, Any]]:
    """(verdict, summary, findings) without a runbook Context: the brief's plain signature.

    ``observed`` is ignored beyond what the snapshot shows (kept for callers that pass the
    pool estimates); use :func:`check` inside the runbook engine.
    """
    context = Context(extra={MANIFEST_KEY: manifest} if manifest else {})
    result = check(snapshot, {}, context)
    return result.verdict, result.summary, result.findings


def verdict_of(budget: Budget) -> str:
    if not budget.services:
        return UNKNOWN
    if not budget.fits:
        return FAIL
    return WARN if budget.warnings else OK


def summary_of(budget: Budget, *, from_manifest: bool) -> str:
    basis = "the manifest" if from_manifest else (
        "one shared pool per process at today's replica counts (no manifest)")
    text = f"{budget.sentence()} ({basis})"
    if not budget.fits and budget.recommendation:
        text += f"; {budget.recommendation}"
    return printable(text)


def check(snapshot: Snapshot, params: Mapping[str, Param], context: Context) -> CheckResult:
    """The runbook engine's entry point (``check: budget``)."""
    try:
        inputs = budget_inputs(snapshot, context, params)
    except InputError as exc:
        return CheckResult(UNKNOWN, exc.one_line(), {})
    budget = compute(inputs)
    from_manifest = isinstance(context.extra.get(MANIFEST_KEY), Manifest)
    if not budget.services:
        return CheckResult(UNKNOWN, "no service to budget: give a services manifest "
                                    "(--services FILE) or a pool size (--pool-max)",
                           budget.as_dict())
    findings = budget.as_dict()
    findings["basis"] = "manifest" if from_manifest else "observed"
    rows = tuple(
        {"service": s.name, "pool_max": s.spec.pool_max,
         "pools_per_replica": s.spec.pools_per_replica, "replicas": s.spec.replicas,
         "surge": s.spec.surge, "demand": s.demand, "share": round(s.share, 3),
         "max_pool_that_fits": s.max_pool_that_fits,
         "observed": None if s.observed is None else s.observed.connections}
        for s in budget.services)
    return CheckResult(verdict_of(budget), summary_of(budget, from_manifest=from_manifest),
                       findings, rows)
