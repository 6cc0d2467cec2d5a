"""The services and pool estimates of one snapshot, computed once and shared by the checks."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pgmedic.model import Snapshot
from pgmedic.runbook.model import Context
from pgmedic.triage.pools import PoolEstimate, estimate_pools, offender_of
from pgmedic.triage.services import Service, ServiceNamer, services_of


@dataclass(frozen=True, slots=True)
class Analysis:
    services: list[Service]  # biggest first, the unnamed ("") included
    estimates: list[PoolEstimate]  # named services, same order
    offender: PoolEstimate | None

    @property
    def total(self) -> int:
        return sum(s.connections for s in self.services)


def analyse_uncached(snapshot: Snapshot, context: Context) -> Analysis:
    namer = ServiceNamer(context.replica_pattern)
    services = services_of(snapshot.backends, namer)
    estimates = estimate_pools(services, pool_max=context.pool_max,
                               pool_max_source=context.pool_max_source,
                               manifest=context.services, burst_gap=context.burst_gap)
    return Analysis(services, estimates, offender_of(estimates))


_last: tuple[Snapshot, Context, Analysis] | None = None
_lock = threading.Lock()


def analyse(snapshot: Snapshot, context: Context) -> Analysis:
    """:func:`analyse_uncached`, remembered for the last (snapshot, context) pair."""
    global _last
    with _lock:
        last = _last
    if last is not None and last[0] is snapshot and last[1] is context:
        return last[2]
    result = analyse_uncached(snapshot, context)
    with _lock:
        _last = (snapshot, context, result)
    return result


def find_offender(snapshot: Snapshot, context: Context | None = None) -> PoolEstimate | None:
    """The service with too many pools per process (to highlight), or None."""
    return analyse(snapshot, context or Context()).offender
