"""Checks and actions by name: what a runbook's ``pgmedic`` block can run.

A check is a pure function ``(snapshot, params, context) -> CheckResult``: no I/O, so it is
tested on synthetic snapshots and on real sessions alike. An action (``terminate``,
``share``) is registered the same way; headless it reports what it would act on and the
verdict ``unknown``: the action itself runs in the TUI or its own command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pgmedic.model import Snapshot
from pgmedic.runbook.model import CheckResult, Context, Param

CheckFn = Callable[[Snapshot, Mapping[str, Param], Context], CheckResult]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    kind: str  # "check" or "action"
    fn: CheckFn
    doc: str


REGISTRY: dict[str, CheckSpec] = {}


def register(name: str, kind: str = "check") -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = CheckSpec(name, kind, fn, doc[0] if doc else "")
        return fn
    return deco


def known_names() -> frozenset[str]:
    """Every name a ``check:``/``action:`` line may use (``sql`` blocks aside)."""
    from pgmedic.runbook import checks  # noqa: F401  (registers the built-ins)

    return frozenset(REGISTRY)
