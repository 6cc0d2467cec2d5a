"""The too-many-pools smell: how many pools each process of a service opened.

Two signals, per replica (one pod or one client address):

* connections against the pool maximum: a pool never holds more than ``pool_max``, so
  ``n / pool_max`` pools at least (``PG_POOL_MAX_SIZE``, a services manifest, ``--pool-max``;
  without any, the common default of 10, said so in the verdict);
* bursts of ``backend_start``: a pool opens its connections together, so connections that
  arrived in separate bursts came from separate pools. When the server was saturated a
  replica may have got only some of its connections: the bursts still count its pools.

Expected is one shared pool per process. A service is blamed only when the estimate is
clearly above one (2.5 pools per replica with a known maximum, 3 when assumed), so a
healthy shared pool is never named the offender.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pgmedic.triage.services import Replica, Service

#: asyncpg, HikariCP, node-postgres and the article's pool all default to 10
ASSUMED_POOL_MAX = 10
#: backend_start gap (seconds) that separates two bursts (two pools)
DEFAULT_BURST_GAP = 0.5
#: pools per replica from which a service is named the offender
BLAME_KNOWN = 2.5
BLAME_ASSUMED = 3.0


@dataclass(frozen=True, slots=True)
class ReplicaPools:
    replica: str
    connections: int
    idle: int
    bursts: tuple[int, ...]  # sizes of the backend_start bursts, in time order
    estimated_pools: float

    def as_dict(self) -> dict[str, object]:
        return {"replica": self.replica, "connections": self.connections, "idle": self.idle,
                "bursts": list(self.bursts), "estimated_pools": self.estimated_pools}


@dataclass(frozen=True, slots=True)
class PoolEstimate:
    """One service's pools, per replica, with the numbers behind the estimate."""

    service: str
    connections: int
    idle: int
    replicas: int
    pool_max: int
    pool_max_source: str  # flag, env, manifest, bursts, assumed
    estimated_pools_per_replica: float  # the most of any replica, one decimal
    expected_pools_per_replica: int
    per_replica: tuple[ReplicaPools, ...]
    share: float  # of all client connections

    @property
    def threshold(self) -> float:
        return BLAME_ASSUMED if self.pool_max_source == "assumed" else BLAME_KNOWN

    @property
    def too_many_pools(self) -> bool:
        return self.estimated_pools_per_replica >= self.threshold * self.expected_pools_per_replica

    @property
    def excess(self) -> int:
        """Connections beyond what the expected pools could hold."""
        allowed = self.pool_max * self.expected_pools_per_replica * self.replicas
        return max(0, self.connections - allowed)

    @property
    def pools_text(self) -> str:
        """'8', or '4-5' when the estimate falls between two whole numbers."""
        est = self.estimated_pools_per_replica
        lo, hi = math.floor(est), math.ceil(est)
        return str(lo) if lo == hi else f"{lo}-{hi}"

    def sentence(self) -> str:
        """'checkout-api holds 90 connections from 2 replicas: about 4-5 pools of 10 per
        process, expected 1'."""
        name = self.service or "(unnamed)"
        reps = f"{self.replicas} replica" + ("" if self.replicas == 1 else "s")
        text = (f"{name} holds {self.connections} connections from {reps}: about "
                f"{self.pools_text} pool{'s' if self.pools_text != '1' else ''} of "
                f"{self.pool_max} per process, expected {self.expected_pools_per_replica}")
        if self.pool_max_source == "assumed":
            text += (f" (pool size assumed {self.pool_max}, the common default: "
                     "give --pool-max or PG_POOL_MAX_SIZE)")
        elif self.pool_max_source == "bursts":
            text += " (pool size read from the connection bursts)"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "connections": self.connections,
            "idle": self.idle,
            "replicas": self.replicas,
            "estimated_pools_per_replica": self.estimated_pools_per_replica,
            "expected_pools_per_replica": self.expected_pools_per_replica,
            "pool_max": self.pool_max,
            "pool_max_source": self.pool_max_source,
            "share": round(self.share, 3),
            "excess": self.excess,
            "too_many_pools": self.too_many_pools,
            "per_replica": [r.as_dict() for r in self.per_replica],
            "sentence": self.sentence(),
        }


def bursts(starts: list[float], gap: float = DEFAULT_BURST_GAP) -> tuple[int, ...]:
    """Sizes of the groups of backend_start separated by more than ``gap`` seconds."""
    times = sorted(t for t in starts if t > 0)
    if not times:
        return ()
    sizes = []
    n = 1
    prev = times[0]
    for t in times[1:]:
        if t - prev > gap:
            sizes.append(n)
            n = 1
        else:
            n += 1
        prev = t
    sizes.append(n)
    return tuple(sizes)


def _pool_bursts(sizes: tuple[int, ...]) -> int:
    """Bursts that look like a pool opening (two connections or more), when there are two."""
    big = sum(1 for s in sizes if s >= 2)
    return big if big >= 2 else 0


def _size_from_bursts(per_replica: list[tuple[Replica, tuple[int, ...]]]) -> int | None:
    """The pool size the bursts show: the most common size of 3+, seen at least twice."""
    counts: dict[int, int] = {}
    for _, sizes in per_replica:
        if _pool_bursts(sizes):
            for s in sizes:
                if s >= 3:
                    counts[s] = counts.get(s, 0) + 1
    if not counts:
        return None
    size, seen = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return size if seen >= 2 else None


def estimate_service(service: Service, *, total: int, pool_max: int | None = None,
                     pool_max_source: str = "flag", burst_gap: float = DEFAULT_BURST_GAP,
                     expected: int = 1) -> PoolEstimate:
    """Pools per replica of one service. ``pool_max`` None: from bursts, else assumed."""
    reps = [(r, bursts(r.starts, burst_gap)) for r in service.replicas.values()]
    source = pool_max_source
    size = pool_max
    if size is None or size <= 0:
        size = _size_from_bursts(reps)
        source = "bursts" if size else "assumed"
        size = size or ASSUMED_POOL_MAX
    per = []
    for rep, sizes in reps:
        est = rep.connections / size
        if source != "assumed":  # a partly refused replica: its bursts still count its pools
            est = max(est, float(_pool_bursts(sizes)))
        per.append(ReplicaPools(rep.name, rep.connections, rep.idle, sizes, round(est, 1)))
    per.sort(key=lambda r: (-r.connections, r.replica))
    top = max((r.estimated_pools for r in per), default=0.0)
    return PoolEstimate(
        service=service.name, connections=service.connections, idle=service.idle,
        replicas=len(per), pool_max=size, pool_max_source=source,
        estimated_pools_per_replica=top, expected_pools_per_replica=expected,
        per_replica=tuple(per), share=service.connections / total if total else 0.0,
    )


#: a replica with fewer connections can never show two pools (two bursts of two)
_MIN_SUSPECT = 4


def estimate_pools(services: list[Service], *, pool_max: int | None = None,
                   pool_max_source: str = "flag", manifest: Mapping[str, int] | None = None,
                   burst_gap: float = DEFAULT_BURST_GAP, top: int = 50) -> list[PoolEstimate]:
    """An estimate for the ``top`` biggest named services (``services`` is biggest first)
    and for every other one that could hold two pools in a replica. Unnamed sessions are
    many programs, not a service: skipped."""
    total = sum(s.connections for s in services)
    manifest = manifest or {}
    out = []
    for rank, svc in enumerate(services):
        if not svc.name:
            continue
        if rank >= top and svc.connections < _MIN_SUSPECT or (
                rank >= top and max(r.connections for r in svc.replicas.values())
                < _MIN_SUSPECT):
            continue
        size: int | None = pool_max
        source = pool_max_source
        if svc.name in manifest:
            size, source = manifest[svc.name], "manifest"
        out.append(estimate_service(svc, total=total, pool_max=size, pool_max_source=source,
                                    burst_gap=burst_gap))
    return out


def offender_of(estimates: list[PoolEstimate]) -> PoolEstimate | None:
    """The service with too many pools holding the most excess connections, or None."""
    smelly = [e for e in estimates if e.too_many_pools]
    if not smelly:
        return None
    return max(smelly, key=lambda e: (e.excess, e.connections, e.service))
