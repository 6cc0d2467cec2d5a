"""The budget math with the article's numbers, surge, reserved slots, recommendations."""

from __future__ import annotations

import pytest

from pgmedic.errors import InputError
from pgmedic.model import Backend
from pgmedic.triage.budget import (
    BudgetInputs,
    Limits,
    compute,
    inputs_from,
    largest_pool,
    observe,
    surge_replicas,
    with_service,
)
from pgmedic.triage.manifest import Headroom, Manifest, ServiceSpec


def budget_of(*services: ServiceSpec, **limits: object):  # type: ignore[no-untyped-def]
    return compute(BudgetInputs(limits=Limits(**limits), services=services))  # type: ignore[arg-type]


def test_article_napkin_math_fits() -> None:
    b = budget_of(ServiceSpec("app", pool_max=5, replicas=10), max_connections=100,
                  headroom=Headroom(20))
    assert (b.demand, b.capacity, b.fits, b.margin) == (50, 80, True, 30)
    assert b.verdict == "fits"
    assert b.recommendation is None
    assert b.services[0].max_pool_that_fits == 7  # 7 x 10 = 70 < 80; 8 x 10 = 80 is not


def test_article_buggy_service_does_not_fit_and_one_shared_pool_does() -> None:
    # 10 (health checker) + 10 (dependency checker) + 6 x 10 (workers) = 80 per container
    buggy = ServiceSpec("worker", pool_max=10, pools_per_replica=8, replicas=2)
    b = budget_of(buggy, max_connections=100)
    assert (b.demand, b.capacity, b.fits) == (160, 100, False)
    s = b.services[0]
    assert s.per_replica == 80
    assert s.shared_pool_that_fits == 49  # 2 x 49 = 98 < 100
    assert s.max_pool_that_fits == 6  # 8 pools x 6 x 2 = 96 < 100
    assert "one shared pool per process" in (s.recommendation or "")
    assert "pool_max <= 49" in (s.recommendation or "")
    assert b.recommendation and "one shared pool" in b.recommendation
    # the fix: one shared pool of the recommended size fits
    fixed = budget_of(ServiceSpec("worker", pool_max=49, replicas=2), max_connections=100)
    assert fixed.fits and fixed.demand == 98
    assert not budget_of(ServiceSpec("worker", pool_max=50, replicas=2), max_connections=100).fits


def test_strict_fit_at_the_boundary() -> None:
    b = budget_of(ServiceSpec("a", pool_max=8, replicas=10), max_connections=100,
                  headroom=Headroom(20))
    assert b.demand == b.capacity == 80
    assert not b.fits and b.margin == 0


def test_surge_changes_the_verdict() -> None:
    spec = ServiceSpec("api", pool_max=10, replicas=4)
    assert budget_of(spec, max_connections=60, headroom=Headroom(10)).fits  # 40 < 50
    with_surge = ServiceSpec("api", pool_max=10, replicas=4, surge=0.25)
    b = budget_of(with_surge, max_connections=60, headroom=Headroom(10))
    assert b.services[0].surge_replicas == 1 and b.demand == 50 and not b.fits


@pytest.mark.parametrize(("replicas", "surge", "extra"), [
    (4, 0.25, 1), (2, 0.25, 1), (10, 0.1, 1), (100, 0.07, 7), (3, 0.0, 0), (5, 1.0, 5),
    (1, 0.01, 1),
])
def test_surge_replicas_round_up_exactly(replicas: int, surge: float, extra: int) -> None:
    assert surge_replicas(replicas, surge) == extra


def test_superuser_reserved_changes_the_verdict() -> None:
    spec = ServiceSpec("api", pool_max=10, replicas=9)
    assert budget_of(spec, max_connections=100, headroom=Headroom(5)).fits  # 90 < 95
    b = budget_of(spec, max_connections=100, superuser_reserved=3, reserved=3,
                  headroom=Headroom(5))
    assert b.capacity == 89 and not b.fits
    assert not budget_of(spec, max_connections=100, superuser_reserved=6,
                         headroom=Headroom(5)).fits


def test_reserve_and_percentage_headroom() -> None:
    spec = ServiceSpec("api", pool_max=10, replicas=5)
    b = budget_of(spec, max_connections=90, headroom=Headroom(15, percent=True), reserve=10)
    assert b.limits.headroom_slots == 14  # 13.5 rounded up
    assert b.capacity == 66 and b.fits
    assert not budget_of(spec, max_connections=90, headroom=Headroom(15, percent=True),
                         reserve=30).fits


def test_several_services_shares_and_per_service_fit() -> None:
    a = ServiceSpec("checkout-api", pool_max=10, replicas=4)
    w = ServiceSpec("worker", pool_max=5, pools_per_replica=2, replicas=3)
    b = budget_of(a, w, max_connections=100, headroom=Headroom(20))
    assert b.demand == 40 + 30 and b.fits
    assert [round(s.share, 3) for s in b.services] == [round(40 / 70, 3), round(30 / 70, 3)]
    # checkout-api: others 30, 4p < 50 -> 12; worker: others 40, 6p < 40 -> 6
    assert [s.max_pool_that_fits for s in b.services] == [12, 6]
    assert b.services[1].recommendation and "fits, but 2 pools" in b.services[1].recommendation


def test_no_sensible_pool_recommends_pgbouncer() -> None:
    b = budget_of(ServiceSpec("big", pool_max=10, replicas=60), max_connections=100)
    assert not b.fits
    assert b.services[0].max_pool_that_fits == 1
    assert "PgBouncer in transaction mode" in (b.services[0].recommendation or "")
    assert b.recommendation and "PgBouncer" in b.recommendation


def test_nothing_fits_when_others_take_everything() -> None:
    assert largest_pool(100, 99, 1, 1) == 0
    assert largest_pool(100, 150, 1, 1) == 0
    assert largest_pool(0, 0, 1, 1) == 0


def test_overall_recommendation_common_shared_pool() -> None:
    a = ServiceSpec("a", pool_max=20, replicas=5)
    c = ServiceSpec("c", pool_max=20, replicas=5)
    b = budget_of(a, c, max_connections=100)
    assert not b.fits
    assert b.recommendation and "pool_max <= 9" in b.recommendation  # 10 x 9 = 90 < 100


def test_what_if_changes_one_service() -> None:
    inputs = BudgetInputs(Limits(100), (ServiceSpec("w", 10, 8, 2),))
    assert not compute(inputs).fits
    assert compute(with_service(inputs, "w", pools_per_replica=1)).fits


def _b(app: str, addr: str | None) -> Backend:
    return Backend(pid=1, application_name=app, usename="u", datname="d", client_addr=addr,
                   client_port=1, state="idle", backend_start=0.0, state_change=0.0,
                   xact_start=None, wait_event=None, superuser=False)


def test_observed_values_and_disagreements() -> None:
    spec = ServiceSpec("worker", pool_max=10, replicas=2)
    backends = [_b("worker", "10.0.0.1")] * 80 + [_b("worker", "10.0.0.2")] * 70 + \
        [_b("psql", None)] * 2
    observed, unmatched = observe(backends, [spec], {"worker": 8.0})
    o = observed["worker"]
    assert (o.connections, o.replicas, o.max_per_replica) == (150, 2, 80)
    assert unmatched == {"psql": 2}
    b = compute(BudgetInputs(Limits(200), (spec,), observed, unmatched))
    text = " ".join(b.warnings)
    assert "80 connections from one replica, declared 10 x 1 = 10" in text
    assert "about 8.0 pools per replica" in text
    assert "2 connections from applications in no service" in text


def test_pattern_matching() -> None:
    spec = ServiceSpec("checkout", pool_max=10, pattern="checkout-*")
    observed, unmatched = observe([_b("checkout-api", "a"), _b("checkout", "a")], [spec])
    assert observed["checkout"].connections == 1 and unmatched == {"checkout": 1}


def test_limits_precedence_and_missing_max_connections() -> None:
    m = Manifest(max_connections=50, headroom=Headroom(5))
    inputs = inputs_from(m, None, services=(ServiceSpec("a", 5),), max_connections=80)
    assert inputs.limits.max_connections == 80
    assert inputs.sources["max_connections"] == "flag"
    assert inputs.sources["superuser_reserved_connections"] == "assumed"
    assert inputs.sources["headroom"] == "manifest"
    with pytest.raises(InputError, match="max_connections is unknown"):
        inputs_from(Manifest(), None)


def test_json_shape() -> None:
    d = budget_of(ServiceSpec("app", 5, replicas=10), max_connections=100,
                  headroom=Headroom(20)).as_dict()
    assert {"demand", "capacity", "fits", "margin", "services", "limits"} <= set(d)
    assert {"name", "pool_max", "pools_per_replica", "replicas", "demand",
            "max_pool_that_fits", "surge", "share", "recommendation"} <= set(d["services"][0])
