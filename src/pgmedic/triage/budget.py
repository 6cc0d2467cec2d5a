"""The budget math: do the pools of every service fit in the slots ordinary roles can use?

Pure: plain data in, plain data out; no I/O.

The rules (the README's "budget" section says the same):

* **Demand** of a service = ``pool_max x pools_per_replica x peak_replicas``, where
  ``peak_replicas = replicas + ceil(replicas x surge)``: during a rolling deploy the surge
  replicas are whole containers, so any fraction rounds *up* (4 replicas at 25 % surge: 5;
  2 replicas at 25 %: 3). Demand = the sum over services.
* **Capacity** = ``max_connections - superuser_reserved_connections - reserved_connections
  - headroom - reserve``. ``headroom`` is admin headroom, in slots or a percentage of
  max_connections (rounded up); ``reserve`` is for other clients (admin tools, migrations,
  cron jobs).
* It **fits** when demand < capacity (strict, as in the article: 50 < 80). ``margin`` =
  capacity - demand, so it fits exactly when margin > 0.
* Per service, with the others unchanged: ``max_pool_that_fits`` is the largest pool_max
  (same pools per replica) that makes the whole fit, ``shared_pool_that_fits`` the largest
  with ONE shared pool per process; 0 when none does. Below :data:`MIN_SENSIBLE_POOL` the
  recommendation is a pooler (PgBouncer in transaction mode).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pgmedic.errors import InputError
from pgmedic.model import Backend, ServerInfo, Snapshot
from pgmedic.triage.manifest import Headroom, Manifest, ServiceSpec
from pgmedic.untrusted import printable

#: a pool smaller than this is no pool worth recommending: put a pooler in front instead
MIN_SENSIBLE_POOL = 2

POOLER = ("PgBouncer in transaction mode in front of the database (clients keep their pools, "
          "the server sees only PgBouncer's default_pool_size per database and user)")


@dataclass(frozen=True, slots=True)
class Limits:
    """The server side of the math. ``headroom`` and ``reserve`` come off the usable slots."""

    max_connections: int
    superuser_reserved: int = 0
    reserved: int = 0
    headroom: Headroom = field(default_factory=lambda: Headroom(0))
    reserve: int = 0

    @property
    def headroom_slots(self) -> int:
        return self.headroom.slots(self.max_connections)

    @property
    def usable(self) -> int:
        """What ordinary roles can use: max_connections minus both reserved counts."""
        return self.max_connections - self.superuser_reserved - self.reserved

    @property
    def capacity(self) -> int:
        return self.usable - self.headroom_slots - self.reserve


@dataclass(frozen=True, slots=True)
class Observed:
    """What the live server shows for one service (its application_name pattern)."""

    connections: int
    replicas: int  # distinct client addresses (a Unix socket counts as one)
    max_per_replica: int  # the most connections from one client address
    pools_per_replica: float | None = None  # the runbook's estimate (triage.pools), if any


@dataclass(frozen=True, slots=True)
class BudgetInputs:
    """Everything the math needs; what the TUI passes to the budget widget."""

    limits: Limits
    services: tuple[ServiceSpec, ...]
    observed: Mapping[str, Observed] = field(default_factory=dict)  # by service name
    #: connections of applications that match no service: name -> count
    unmatched: Mapping[str, int] = field(default_factory=dict)
    #: where each limit came from: "server", "manifest", "flag", "assumed"
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceBudget:
    spec: ServiceSpec
    surge_replicas: int
    demand: int
    share: float  # of the total demand, 0..1
    max_pool_that_fits: int  # same pools per replica, others unchanged; 0: none fits
    shared_pool_that_fits: int  # one shared pool per process, others unchanged
    recommendation: str | None
    observed: Observed | None = None
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def peak_replicas(self) -> int:
        return self.spec.replicas + self.surge_replicas

    @property
    def per_replica(self) -> int:
        return self.spec.pool_max * self.spec.pools_per_replica

    def as_dict(self) -> dict[str, Any]:
        s = self.spec
        obs = self.observed
        return {
            "name": s.name,
            "pool_max": s.pool_max,
            "pools_per_replica": s.pools_per_replica,
            "replicas": s.replicas,
            "surge": s.surge,
            "surge_replicas": self.surge_replicas,
            "peak_replicas": self.peak_replicas,
            "per_replica": self.per_replica,
            "demand": self.demand,
            "share": round(self.share, 4),
            "max_pool_that_fits": self.max_pool_that_fits,
            "shared_pool_that_fits": self.shared_pool_that_fits,
            "recommendation": self.recommendation,
            "pattern": s.app_pattern,
            "observed": None if obs is None else {
                "connections": obs.connections,
                "replicas": obs.replicas,
                "max_per_replica": obs.max_per_replica,
                "pools_per_replica": obs.pools_per_replica,
            },
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class Budget:
    limits: Limits
    services: tuple[ServiceBudget, ...]
    demand: int
    recommendation: str | None
    warnings: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def capacity(self) -> int:
        return self.limits.capacity

    @property
    def margin(self) -> int:
        return self.capacity - self.demand

    @property
    def fits(self) -> bool:
        return self.demand < self.capacity

    @property
    def verdict(self) -> str:
        return "fits" if self.fits else "over budget"

    def sentence(self) -> str:
        """The verdict in one line: "50 < 80: fits, margin 30"."""
        if self.fits:
            return f"demand {self.demand} < capacity {self.capacity}: fits, margin {self.margin}"
        return (f"demand {self.demand} >= capacity {self.capacity}: over budget by "
                f"{self.demand - self.capacity + 1}")

    def as_dict(self) -> dict[str, Any]:
        lim = self.limits
        return {
            "schema": 1,
            "fits": self.fits,
            "verdict": self.verdict,
            "demand": self.demand,
            "capacity": self.capacity,
            "margin": self.margin,
            "limits": {
                "max_connections": lim.max_connections,
                "superuser_reserved_connections": lim.superuser_reserved,
                "reserved_connections": lim.reserved,
                "usable_connections": lim.usable,
                "headroom": lim.headroom_slots,
                "headroom_input": str(lim.headroom),
                "reserve": lim.reserve,
                "sources": dict(self.sources),
            },
            "services": [s.as_dict() for s in self.services],
            "recommendation": self.recommendation,
            "warnings": list(self.warnings),
        }


# -- the math ---------------------------------------------------------------------------------

def surge_replicas(replicas: int, surge: float) -> int:
    """Extra replicas during a rollout: ``ceil(replicas x surge)``, exact for decimals."""
    if surge <= 0:
        return 0
    return math.ceil(Decimal(replicas) * Decimal(repr(surge)))


def service_demand(spec: ServiceSpec) -> int:
    peak = spec.replicas + surge_replicas(spec.replicas, spec.surge)
    return spec.pool_max * spec.pools_per_replica * peak


def largest_pool(capacity: int, others: int, pools_per_replica: int, peak_replicas: int) -> int:
    """The largest p with ``others + p x pools_per_replica x peak_replicas < capacity``; 0: none."""
    room = capacity - others - 1  # strict: demand must stay below capacity
    if room <= 0:
        return 0
    return room // (pools_per_replica * peak_replicas)


def compute(inputs: BudgetInputs) -> Budget:
    """The whole calculation, per service and overall, with recommendations and warnings."""
    limits = inputs.limits
    capacity = limits.capacity
    demands = [service_demand(s) for s in inputs.services]
    total = sum(demands)
    fits = total < capacity
    rows = []
    for spec, demand in zip(inputs.services, demands, strict=True):
        extra = surge_replicas(spec.replicas, spec.surge)
        peak = spec.replicas + extra
        others = total - demand
        max_fit = largest_pool(capacity, others, spec.pools_per_replica, peak)
        shared_fit = largest_pool(capacity, others, 1, peak)
        obs = inputs.observed.get(spec.name)
        rows.append(ServiceBudget(
            spec=spec, surge_replicas=extra, demand=demand,
            share=demand / total if total else 0.0,
            max_pool_that_fits=max_fit, shared_pool_that_fits=shared_fit,
            recommendation=_recommend_service(spec, fits, max_fit, shared_fit),
            observed=obs,
            warnings=tuple(_disagreements(spec, peak, obs)),
        ))
    warnings = [w for r in rows for w in r.warnings]
    if inputs.unmatched:
        n = sum(inputs.unmatched.values())
        names = ", ".join(f"{_label(a)} ({c})" for a, c in
                          sorted(inputs.unmatched.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        warnings.append(f"{n} connections from applications in no service of the manifest: "
                        f"{names}; count them in the manifest or in reserve")
    if limits.usable <= 0:
        warnings.append("no slot is left for ordinary roles: the reserved slots take all "
                        f"{limits.max_connections}")
    return Budget(
        limits=limits, services=tuple(rows), demand=total,
        recommendation=_recommend_overall(inputs.services, rows, total, capacity),
        warnings=tuple(warnings), sources=dict(inputs.sources),
    )


def _recommend_service(spec: ServiceSpec, fits: bool, max_fit: int, shared_fit: int,
                       ) -> str | None:
    ppr = spec.pools_per_replica
    if fits:
        if ppr > 1:
            return (f"fits, but {ppr} pools per process: one shared pool per process is the "
                    "usual fix for the too-many-pools bug")
        return None
    if ppr > 1 and shared_fit >= MIN_SENSIBLE_POOL:
        return (f"one shared pool per process (pools_per_replica {ppr} -> 1) with "
                f"pool_max <= {shared_fit}")
    if ppr == 1 and max_fit >= MIN_SENSIBLE_POOL:
        return f"pool_max {spec.pool_max} -> <= {max_fit}"
    best = max(max_fit, shared_fit)
    if best >= 1:
        return f"only a pool of {best} would fit: put {POOLER}"
    return f"no pool size fits with the other services unchanged: put {POOLER}"


def _recommend_overall(specs: Sequence[ServiceSpec], rows: Sequence[ServiceBudget],
                       total: int, capacity: int) -> str | None:
    if total < capacity:
        return None
    # one change to one service is enough?
    for r in sorted(rows, key=lambda r: -r.demand):
        if r.spec.pools_per_replica > 1 and r.shared_pool_that_fits >= MIN_SENSIBLE_POOL:
            keep = min(r.spec.pool_max, r.shared_pool_that_fits)
            return (f"{r.name}: one shared pool per process instead of "
                    f"{r.spec.pools_per_replica}, pool_max <= {r.shared_pool_that_fits} "
                    f"(e.g. PG_POOL_MAX_SIZE={keep})")
    # every service on one shared pool, one common size?
    peaks = sum(s.replicas + surge_replicas(s.replicas, s.surge) for s in specs)
    if peaks:
        common = largest_pool(capacity, 0, 1, peaks)
        if common >= MIN_SENSIBLE_POOL:
            return (f"one shared pool per process in every service, pool_max <= {common} "
                    f"each ({peaks} replicas at peak share {capacity - 1} slots)")
    return f"no sensible pool size fits: put {POOLER}"


def _disagreements(spec: ServiceSpec, peak: int, obs: Observed | None) -> list[str]:
    if obs is None:
        return []
    out = []
    declared = spec.pool_max * spec.pools_per_replica
    name = _label(spec.name)
    if obs.max_per_replica > declared:
        out.append(f"{name}: {obs.max_per_replica} connections from one replica, declared "
                   f"{spec.pool_max} x {spec.pools_per_replica} = {declared} per replica")
    if obs.replicas > spec.replicas:
        out.append(f"{name}: {obs.replicas} replicas connected, declared at most {spec.replicas}")
    if obs.pools_per_replica is not None and obs.pools_per_replica > spec.pools_per_replica + 0.5:
        out.append(f"{name}: about {obs.pools_per_replica:.1f} pools per replica observed, "
                   f"declared {spec.pools_per_replica}")
    if obs.connections > spec.pool_max * spec.pools_per_replica * peak:
        out.append(f"{name}: {obs.connections} connections now, more than its declared "
                   "demand at peak")
    return out


def _label(name: str) -> str:
    return printable(name) or "(unnamed)"


# -- the live side ----------------------------------------------------------------------------

def observe(backends: Iterable[Backend], services: Sequence[ServiceSpec],
            pools_per_replica: Mapping[str, float] | None = None,
            ) -> tuple[dict[str, Observed], dict[str, int]]:
    """Observed values per service (matched by its application_name glob), and the
    connections of applications no service matches (application -> count).

    A backend counts for the first service whose pattern matches. ``pools_per_replica``
    is the runbook's estimate per service name (``triage.pools``), when there is one.
    """
    # count per (application, client address) first, then match each distinct name once:
    # O(N + distinct names x services) instead of O(N x services) glob matches
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


def limits_from(manifest: Manifest | None = None, server: ServerInfo | None = None, *,
                max_connections: int | None = None, superuser_reserved: int | None = None,
                reserved: int | None = None, headroom: Headroom | None = None,
                reserve: int | None = None) -> tuple[Limits, dict[str, str]]:
    """Limits from flags (first), the live server, then the manifest; and where each came
    from. A missing reserved count is assumed 0 (and says so in the sources); a missing
    max_connections raises :class:`~pgmedic.errors.InputError`."""
    sources: dict[str, str] = {}

    def pick(key: str, flag: int | None, live: int | None, declared: int | None,
             default: int | None) -> int | None:
        for value, where in ((flag, "flag"), (live, "server"), (declared, "manifest"),
                             (default, "assumed")):
            if value is not None:
                sources[key] = where
                return value
        return None

    m = manifest or Manifest()
    maxc = pick("max_connections", max_connections,
                server.max_connections if server else None, m.max_connections, None)
    if maxc is None:
        raise InputError("max_connections is unknown",
                         "give a CONNINFO for the live server's, --max-connections N, or "
                         "max_connections in the manifest")
    su = pick("superuser_reserved_connections", superuser_reserved,
              server.superuser_reserved_connections if server else None,
              m.superuser_reserved_connections, 0)
    res = pick("reserved_connections", reserved, server.reserved_connections if server else None,
               m.reserved_connections, 0)
    hr = headroom if headroom is not None else m.headroom
    sources["headroom"] = "flag" if headroom is not None else (
        "manifest" if m.headroom is not None else "assumed")
    rsv = pick("reserve", reserve, None, m.reserve, 0)
    return Limits(max_connections=maxc, superuser_reserved=su or 0, reserved=res or 0,
                  headroom=hr or Headroom(0), reserve=rsv or 0), sources


def inputs_from(manifest: Manifest | None, snapshot: Snapshot | None = None, *,
                services: Sequence[ServiceSpec] | None = None,
                pools_per_replica: Mapping[str, float] | None = None,
                **limit_overrides: Any) -> BudgetInputs:
    """BudgetInputs from a manifest and, when live, a snapshot (settings + observed).

    ``services`` replaces the manifest's list (the command's one-service flags);
    ``limit_overrides`` are :func:`limits_from`'s keyword flags.
    """
    specs = tuple(services if services is not None else (manifest.services if manifest else ()))
    limits, sources = limits_from(manifest, snapshot.server if snapshot else None,
                                  **limit_overrides)
    observed: dict[str, Observed] = {}
    unmatched: dict[str, int] = {}
    if snapshot is not None:
        observed, unmatched = observe(snapshot.backends, specs, pools_per_replica)
    return BudgetInputs(limits=limits, services=specs, observed=observed, unmatched=unmatched,
                        sources=sources)


def with_service(inputs: BudgetInputs, name: str, **changes: Any) -> BudgetInputs:
    """``inputs`` with one service's values changed (what-if), e.g. ``pool_max=5``."""
    specs = tuple(replace(s, **changes) if s.name == name else s for s in inputs.services)
    return replace(inputs, services=specs)
