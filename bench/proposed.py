"""Proposed drop-in replacements for hot spots in files this bench does not own.

``bench_analysis.py --proposed`` swaps them in (monkeypatch, this process only) to show the
gain before the owners adopt them. Each keeps the original's signature and results (the
script checks equality on its synthetic snapshot).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence

from pgmedic.model import Backend
from pgmedic.triage.budget import Observed
from pgmedic.triage.manifest import ServiceSpec


def observe(backends: Iterable[Backend], services: Sequence[ServiceSpec],
            pools_per_replica: Mapping[str, float] | None = None,
            ) -> tuple[dict[str, Observed], dict[str, int]]:
    """triage/budget.py:observe, O(N + distinct applications x services): count per
    (application_name, client_addr) first, then match each distinct name once."""
    counts: dict[tuple[str, str | None], int] = {}
    for b in backends:
        key = (b.application_name, b.client_addr)
        counts[key] = counts.get(key, 0) + 1
    owner: dict[str, str | None] = {}
    per: dict[str, dict[str | None, int]] = {s.name: {} for s in services}
    unmatched: dict[str, int] = {}
    for (app, addr), n in counts.items():
        if app in owner:
            name = owner[app]
        else:
            name = next((s.name for s in services
                         if fnmatch.fnmatchcase(app, s.app_pattern)), None)
            owner[app] = name
        if name is None:
            unmatched[app] = unmatched.get(app, 0) + n
        else:
            addrs = per[name]
            addrs[addr] = addrs.get(addr, 0) + n
    estimates = pools_per_replica or {}
    observed = {
        name: Observed(connections=sum(addrs.values()), replicas=len(addrs),
                       max_per_replica=max(addrs.values()),
                       pools_per_replica=estimates.get(name))
        for name, addrs in per.items() if addrs
    }
    return observed, unmatched


def install() -> list[str]:
    """Swap the proposals in; returns what was swapped."""
    import pgmedic.triage.budget as budget

    budget.observe = observe
    return ["triage/budget.py:observe"]
