"""Services, replicas and the pools-per-process estimate on synthetic backends (pure)."""

from __future__ import annotations

import time

import pytest

from pgmedic.runbook import Context, find_offender
from pgmedic.runbook.analysis import analyse_uncached
from pgmedic.triage.pools import bursts, estimate_pools, offender_of
from pgmedic.triage.services import LOCAL, ServiceNamer, services_of
from runbook.synthetic import Maker, article


@pytest.mark.parametrize(("app", "service", "pod"), [
    ("checkout-api-7d9f8c6b5-x2x9q", "checkout-api", True),
    ("checkout-api-x2x9q", "checkout-api", True),
    ("ledger-0", "ledger", True),
    ("ledger-12", "ledger", True),
    ("checkout-api", "checkout-api", False),
    ("order-queue", "order-queue", False),  # a 5-letter word is not a pod suffix
    ("report-worker", "report-worker", False),
    ("", "", False),
])
def test_service_names(app: str, service: str, pod: bool) -> None:
    assert ServiceNamer()(app) == (service, pod)


def test_custom_replica_pattern() -> None:
    namer = ServiceNamer(r"^(?P<service>[a-z-]+)@\w+$")
    assert namer("billing@host7") == ("billing", True)
    with pytest.raises(ValueError, match="service"):
        ServiceNamer(r"^(\w+)$")
    with pytest.raises(ValueError, match="bad replica pattern"):
        ServiceNamer(r"(")


def test_replicas_are_pods_or_client_addresses() -> None:
    m = Maker()
    m.pool("api-7d9f8c6b5-x2x9q", 3, at=100)
    m.pool("api-7d9f8c6b5-k8r4m", 3, at=100)
    m.pool("batch", 2, at=100, addr="10.0.0.7")
    m.pool("batch", 2, at=100, addr="10.0.0.8")
    m.pool("batch", 1, at=100, addr=None)
    svcs = {s.name: s for s in services_of(m.rows)}
    assert set(svcs["api"].replicas) == {"api-7d9f8c6b5-x2x9q", "api-7d9f8c6b5-k8r4m"}
    assert set(svcs["batch"].replicas) == {"10.0.0.7", "10.0.0.8", LOCAL}
    assert svcs["batch"].connections == 5 and svcs["batch"].idle == 5


def test_bursts() -> None:
    assert bursts([10.0, 10.01, 10.02, 20.0, 20.01, 0.0]) == (3, 2)
    assert bursts([]) == ()


def test_article_offender_with_room() -> None:
    """8 pools of 10 per replica, 2 replicas: ~8 pools per replica; the shared pool of 5
    per replica (3 replicas) is not blamed."""
    snap = article()
    for ctx in (Context(), Context(pool_max=10), Context(services={"orders-api": 5})):
        off = analyse_uncached(snap, ctx).offender
        assert off is not None and off.service == "checkout-api"
        assert off.connections == 160 and off.replicas == 2 and off.idle == 160
        assert off.estimated_pools_per_replica == pytest.approx(8, abs=0.5)
    ests = {e.service: e for e in analyse_uncached(snap, Context(pool_max=10)).estimates}
    assert not ests["orders-api"].too_many_pools
    assert ests["orders-api"].estimated_pools_per_replica <= 1


def test_article_offender_without_gaps_assumes_ten() -> None:
    """Pools opened back to back (no gap): pool size unknown, the default of 10 assumed."""
    off = find_offender(article(gap=0.0), Context())
    assert off is not None and off.service == "checkout-api"
    assert off.pool_max_source == "assumed" and off.estimated_pools_per_replica == 8
    assert "about 8 pools of 10 per process, expected 1" in off.sentence()
    assert "assumed" in off.sentence()


def test_pool_size_read_from_bursts() -> None:
    off = find_offender(article(), Context())
    assert off is not None and off.pool_max == 10 and off.pool_max_source == "bursts"


def test_saturated_replica_still_says_several_pools() -> None:
    """The server was full: each replica only got ~45 of its 80 (partial pools)."""
    snap = article(per_pool=(6, 6, 6, 6, 6, 6, 5, 4), max_connections=100)
    for ctx in (Context(), Context(pool_max=10)):
        off = analyse_uncached(snap, ctx).offender
        assert off is not None and off.service == "checkout-api"
        assert off.estimated_pools_per_replica >= 4
    with_max = analyse_uncached(snap, Context(pool_max=10)).offender
    assert with_max is not None and with_max.estimated_pools_per_replica == 8  # the bursts


def test_saturated_without_bursts_says_four_to_five() -> None:
    snap = article(gap=0.0, per_pool=(45,), max_connections=100)
    off = find_offender(snap, Context(pool_max=10))
    assert off is not None
    assert off.sentence().startswith(
        "checkout-api holds 90 connections from 2 replicas: about 4-5 pools of 10 per process")


def test_healthy_only_no_offender() -> None:
    m = Maker()
    for r in range(3):
        m.pool(f"orders-api-5c7b9d8f4-p2q{r}z", 5, at=900 - r * 30)
    m.pool("", 3, at=50)
    snap = m.snapshot()
    assert find_offender(snap, Context()) is None
    assert find_offender(snap, Context(pool_max=5)) is None
    ests = estimate_pools(services_of(snap.backends), pool_max=5)
    assert [e.service for e in ests] == ["orders-api"]  # unnamed sessions: not a service
    assert offender_of(ests) is None


def test_100k_backends_fast_and_linear() -> None:
    """Functional guard only (the figure lives in bench/): grouping + offender + pools."""
    m = Maker()
    for s in range(200):
        for r in range(5):
            for p in range(10):
                m.pool(f"svc{s}-7d9f8c6b5-x2x{r}q", 10, at=10_000 - p * 2 - r * 50 - s,
                       addr=f"10.{s % 250}.{r}.1")
    snap = m.snapshot(200_000)
    assert len(snap.backends) == 100_000
    t0 = time.perf_counter()
    a = analyse_uncached(snap, Context())
    elapsed = time.perf_counter() - t0
    assert a.offender is not None and a.offender.estimated_pools_per_replica == 10
    assert elapsed < 2.0
