"""The incident simulator against its real embedded server: saturation, replicas, refill, fix.

One Incident for the module (it takes a few seconds to come up); the tests run in order and
the last ones change it (termination, the fix, the stop).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from proctools import alive, children_of, postmaster_pid, processes_mentioning

from pgmedic.demo.incident import BILLING, CHECKOUT, REPORTING, Incident
from pgtools import wait_until

pytestmark = pytest.mark.pg


@pytest.fixture(scope="module")
def incident() -> Iterator[Incident]:
    inc = Incident(max_connections=100)
    t0 = time.monotonic()
    with inc:
        assert inc.wait_saturated(timeout=30), inc.connections_by_service()
        inc.saturated_after = time.monotonic() - t0  # type: ignore[attr-defined]
        yield inc


@pytest.fixture
def operator(incident: Incident) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(incident.operator_dsn, autocommit=True,
                         application_name="pgmedic") as conn:
        yield conn


def by_app(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT application_name, count(*) FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1"
    ).fetchall()
    return {app: n for app, n in rows}


def test_reaches_saturation_with_real_53300_errors(incident: Incident,
                                                   operator: psycopg.Connection[Any]) -> None:
    usable = incident.usable_slots
    assert usable == 100 - 3 - 3
    # every slot an ordinary role may take is taken (the operator's own one included)
    counts = wait_until(lambda: (c := by_app(operator)) and sum(c.values()) + 1 >= usable and c,
                        timeout=15, message="services at the usable limit")
    assert counts.get(BILLING) == 15  # the fix: 3 replicas x one pool of 5
    assert counts.get(REPORTING) == 3
    # checkout-api holds most of the slots
    assert counts[CHECKOUT] == max(counts.values())
    assert counts[CHECKOUT] > usable / 2
    # the services really got refused: counted from their own error handling
    stats = wait_until(lambda: (s := incident.stats()).too_many_connections > 0 and s,
                       timeout=10, message="53300 errors counted")
    assert stats.total("too_many_connections", CHECKOUT) > 0
    errors = [e for e in incident.events_since(0) if e.kind == "too_many_connections"]
    assert errors and "53300" in errors[0].message
    assert "remaining connection slots are reserved" in errors[0].message
    # a new service connection is refused too; the operator got in (reserved slots)
    with pytest.raises(psycopg.OperationalError, match="remaining connection slots"):
        psycopg.connect(incident.service_dsn, connect_timeout=5).close()


def test_failing_checks_are_reported(incident: Incident) -> None:
    # even the healthy services' probes fail: the server refuses every new client
    stats = wait_until(lambda: (s := incident.stats()).total("dependency_check_failed", CHECKOUT)
                       > 0 and s, timeout=10, message="checkout-api's dependency check failing")
    assert stats.failed_health_checks > 0
    ev = next(e for e in incident.events_since(0)
              if e.kind == "dependency_check_failed" and e.service == CHECKOUT)
    assert ev.service == CHECKOUT and ev.replica in (1, 2) and ev.at > incident.started_at
    assert ev.is_error
    # events_since is incremental
    last = incident.events_since(0)[-1].seq
    assert all(e.seq > last for e in incident.events_since(last))


def test_replicas_are_distinct_client_addresses(operator: psycopg.Connection[Any]) -> None:
    rows = operator.execute(
        "SELECT application_name, array_agg(DISTINCT host(client_addr) ORDER BY"
        " host(client_addr)) FROM pg_stat_activity WHERE application_name IN (%s, %s, %s)"
        " GROUP BY 1", (CHECKOUT, BILLING, REPORTING)).fetchall()
    addrs = dict(rows)
    assert len(addrs[CHECKOUT]) == 2
    assert len(addrs[BILLING]) == 3
    assert len(addrs[REPORTING]) == 1
    everything = addrs[CHECKOUT] + addrs[BILLING] + addrs[REPORTING]
    assert len(set(everything)) == 6  # no two replicas share an address
    assert all(a.startswith("127.0.0.") and a != "127.0.0.1" for a in everything)


def test_states_idle_active_idle_in_transaction(operator: psycopg.Connection[Any]) -> None:
    def states() -> dict[tuple[str, str], int]:
        rows = operator.execute(
            "SELECT application_name, state, count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' GROUP BY 1, 2").fetchall()
        return {(app, state): n for app, state, n in rows}

    s = wait_until(lambda: (s := states()).get((REPORTING, "active"), 0) >= 1 and s,
                   timeout=10, message="reporting's active queries")
    assert s.get((REPORTING, "idle in transaction")) == 1
    assert s.get((CHECKOUT, "idle"), 0) > s.get((CHECKOUT, "active"), 0)


def test_terminated_idle_connections_are_refilled(incident: Incident,
                                                   operator: psycopg.Connection[Any]) -> None:
    before = by_app(operator)[CHECKOUT]
    # the runbook's mitigation, as the operator role (pg_signal_backend, not a superuser)
    rows = operator.execute(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = %s AND state = 'idle'", (CHECKOUT,)).fetchall()
    killed = {pid for pid, ok in rows if ok}
    assert len(killed) > before / 2
    cut = time.time()

    def gone() -> bool:
        row = operator.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                               (list(killed),)).fetchone()
        return row is not None and row[0] == 0

    wait_until(gone, timeout=10, message="terminated backends gone")
    # ... and the buggy pools take the slots back: mitigation, not the fix
    def refilled() -> bool:
        row = operator.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND backend_start > to_timestamp(%s)", (CHECKOUT, cut)).fetchone()
        total = sum(by_app(operator).values()) + 1  # every slot counts, the operator's too
        return row is not None and row[0] >= len(killed) // 2 and total >= incident.usable_slots

    wait_until(refilled, timeout=20, message="checkout-api refilled its pools")
    assert by_app(operator)[CHECKOUT] > incident.usable_slots / 2


def test_deploy_fix_brings_usage_under_budget(incident: Incident,
                                              operator: psycopg.Connection[Any]) -> None:
    old_pids = incident.child_pids()
    incident.deploy_fix()
    assert incident.fixed and incident.stats().fixed
    assert incident.checkout.pools_per_replica == 1 and incident.checkout.pool_max == 5
    counts = wait_until(lambda: (c := by_app(operator)).get(CHECKOUT, 0) == 10 and c,
                        timeout=20, message="checkout-api at 2 replicas x 5")
    budget = sum(p.wanted for p in incident.plans())
    assert budget == 10 + 15 + 3
    assert sum(n for app, n in counts.items() if app != "pgmedic") <= budget
    assert budget < incident.usable_slots
    kinds = [e.kind for e in incident.events_since(0) if e.service == CHECKOUT]
    assert "deploy" in kinds and "deployed" in kinds
    # the old replicas are gone, two new ones run; a new client gets in again
    # billing x3, reporting, the reaper stay
    assert len(set(old_pids) & set(incident.child_pids())) == 3 + 1 + 1
    psycopg.connect(incident.service_dsn, connect_timeout=5).close()
    incident.deploy_fix()  # idempotent
    rows = operator.execute(
        "SELECT host(client_addr), count(*) FROM pg_stat_activity"
        " WHERE application_name = %s GROUP BY 1", (CHECKOUT,)).fetchall()
    assert len(rows) == 2 and all(n == 5 for _, n in rows)


def test_stop_leaves_nothing_running(incident: Incident) -> None:
    assert incident.server.pgdata is not None and incident.server.base is not None
    assert incident.workdir is not None
    pgdata, base, workdir = incident.server.pgdata, incident.server.base, incident.workdir
    master = postmaster_pid(pgdata)
    pids = incident.child_pids()
    assert alive(master) and len(pids) == 2 + 3 + 1 + 1
    backends = children_of(master)
    assert backends
    incident.stop()
    incident.stop()  # idempotent
    assert not base.exists() and not workdir.exists()
    assert not any(alive(p) for p in [master, *pids, *backends])
    assert processes_mentioning(str(pgdata)) == []
