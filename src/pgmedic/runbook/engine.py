"""Run a runbook's steps on a snapshot, and put their results on the incident timeline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pgmedic.model import Snapshot
from pgmedic.report.timeline import FINDING
from pgmedic.runbook import checks  # noqa: F401  (registers the built-ins)
from pgmedic.runbook.model import FAIL, OK, UNKNOWN, CheckResult, Context, Runbook, Step
from pgmedic.runbook.registry import REGISTRY


def sql_result(step: Step, context: Context) -> CheckResult:
    got = context.sql_results.get(step.id)
    if got is None:
        return CheckResult(UNKNOWN, "a SQL step: pgmedic runs it when connected", {})
    if got.error:
        return CheckResult(UNKNOWN, f"the query failed: {got.error}", {"error": got.error})
    rows = tuple(dict(zip(got.columns, r, strict=False)) for r in got.rows)
    return CheckResult(OK, f"{len(rows)} row{'s' if len(rows) != 1 else ''}",
                       {"columns": list(got.columns), "count": len(rows)}, rows)


def run_check(step: Step, snapshot: Snapshot, context: Context | None = None) -> CheckResult:
    """The step's verdict on ``snapshot``. Never raises for a bug in a check: ``unknown``."""
    context = context or Context()
    block = step.block
    if block is None:
        return CheckResult(OK, "nothing to run: read the step", {})
    if block.kind == "sql":
        return sql_result(step, context)
    spec = REGISTRY.get(block.name)
    if spec is None:
        return CheckResult(UNKNOWN, f"no such check: {block.name}", {})
    try:
        return spec.fn(snapshot, block.params, context)
    except Exception as exc:  # a check's bug must not take the session down
        return CheckResult(UNKNOWN, f"the check failed: {type(exc).__name__}: {exc}",
                           {"error": f"{type(exc).__name__}: {exc}"})


def run_runbook(runbook: Runbook, snapshot: Snapshot, context: Context | None = None,
                ) -> Iterator[tuple[Step, CheckResult]]:
    """Every step's result, in order."""
    for step in runbook.steps:
        yield step, run_check(step, snapshot, context)


def overall(results: list[CheckResult]) -> str:
    """fail if any step failed, else ok (warn and unknown do not fail a run)."""
    return FAIL if any(r.verdict == FAIL for r in results) else OK


class TimelineSink(Protocol):
    """What :class:`pgmedic.store.TimelineStore` offers (so this module does no I/O)."""

    def add(self, kind: str, title: str, **data: Any) -> Any: ...


def record_result(sink: TimelineSink, step: Step, result: CheckResult,
                  runbook_id: str = "") -> Any:
    """Append a FINDING event: the verdict, its sentence and the numbers behind it.

    The keys follow the event schema of :mod:`pgmedic.report.summary`: ``step_id``, and
    for the pools step its ``offender``, for the budget step a ``budget`` digest.
    """
    extra: dict[str, Any] = {}
    offender = result.findings.get("offender")
    if isinstance(offender, dict):
        extra["offender"] = offender
    if step.check == "budget" and "fits" in result.findings:
        extra["budget"] = budget_digest(result.findings)
    return sink.add(FINDING, f"{step.title}: {result.verdict}",
                    runbook=runbook_id, step=step.id, step_id=step.id, check=step.check or "",
                    verdict=result.verdict, summary=result.summary,
                    findings=result.findings, **extra)


def budget_digest(findings: dict[str, Any]) -> dict[str, Any]:
    """fits / demand / capacity and the pool size that fits for the biggest service."""
    services = [s for s in findings.get("services") or [] if isinstance(s, dict)]
    biggest = max(services, key=lambda s: s.get("demand") or 0, default=None)
    return {
        "fits": findings.get("fits"), "demand": findings.get("demand"),
        "capacity": findings.get("capacity"), "verdict": findings.get("verdict"),
        "service": biggest.get("name") if biggest else None,
        "pool_size_that_fits": biggest.get("shared_pool_that_fits") if biggest else None,
    }
