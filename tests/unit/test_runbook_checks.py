"""The built-in checks on synthetic snapshots (pure): verdicts and their numbers."""

from __future__ import annotations

import dataclasses

from pgmedic.model import ConnLimit
from pgmedic.runbook import Context, record_result, run_check
from pgmedic.runbook.model import Block, CheckResult, SqlResult, Step
from runbook.synthetic import Maker, article


def step(name: str, **params: int | float | str | bool) -> Step:
    return Step(name, name, "", Block("check", name, params), 1)


def test_slots_full_server_is_exhaustion_not_outage() -> None:
    m = Maker()
    m.pool("checkout-api", 92, at=100)
    m.pool("admin-cron", 5, at=50, superuser=True)
    r = run_check(step("slots"), m.snapshot(100), Context())
    assert r.verdict == "fail"
    assert r.findings["used"] == 97 and r.findings["usable"] == 97
    assert r.findings["superuser_sessions"] == 5
    assert r.findings["superuser_applications"] == [{"application_name": "admin-cron",
                                                     "connections": 5}]
    assert "not an outage" in r.summary and "superuser" in r.summary


def test_slots_limits_near_cap_and_room() -> None:
    m = Maker()
    m.pool("api", 10, at=100)
    snap = dataclasses.replace(m.snapshot(100),
                               limits=(ConnLimit("role", "app", 10, 10),))
    r = run_check(step("slots"), snap, Context())
    assert r.verdict == "fail" and "CONNECTION LIMIT 10" in r.summary
    calm = run_check(step("slots"), m.snapshot(100), Context())
    assert calm.verdict == "ok" and calm.findings["free"] == 97 - 10 - 1


def test_holders_ranks_services_and_flags_unnamed() -> None:
    m = Maker()
    m.pool("", 4, at=10)
    snap = dataclasses.replace(article(), backends=article().backends + tuple(m.rows))
    r = run_check(step("holders"), snap, Context())
    assert r.verdict == "warn" and r.findings["unnamed"] == 4
    assert [row["service"] for row in r.rows] == ["checkout-api", "orders-api", ""]
    assert r.rows[0]["share"] == round(160 / 179, 3) and r.rows[0]["replicas"] == 2
    assert "PGAPPNAME" in r.summary


def test_pools_verdicts() -> None:
    assert run_check(step("pools"), article(), Context()).verdict == "fail"
    m = Maker()
    m.pool("orders-api", 5, at=100)
    ok = run_check(step("pools"), m.snapshot(), Context())
    assert ok.verdict == "ok" and ok.findings["offender"] is None


def test_budget_step_never_crashes() -> None:
    r = run_check(step("budget"), article(), Context())
    assert r.verdict in ("ok", "warn", "fail", "unknown")


def test_sql_and_prose_steps() -> None:
    sql = Step("q", "q", "", Block("sql", "sql", {}, "SELECT 1 AS n"), 1)
    assert run_check(sql, article(), Context()).verdict == "unknown"
    ctx = Context(sql_results={"q": SqlResult(("n",), ((1,),))})
    got = run_check(sql, article(), ctx)
    assert got.verdict == "ok" and got.rows == ({"n": 1},)
    assert run_check(Step("p", "p", "", None, 1), article()).verdict == "ok"


def test_a_broken_check_is_unknown() -> None:
    from pgmedic.runbook.registry import REGISTRY, register

    @register("boom")
    def boom(*_: object) -> CheckResult:
        raise RuntimeError("bug")

    try:
        r = run_check(step("boom"), article(), Context())
        assert r.verdict == "unknown" and "RuntimeError" in r.summary
    finally:
        del REGISTRY["boom"]


def test_record_result() -> None:
    class Sink:
        def __init__(self) -> None:
            self.events: list[tuple[str, str, dict[str, object]]] = []

        def add(self, kind: str, title: str, **data: object) -> None:
            self.events.append((kind, title, data))

    sink = Sink()
    r = run_check(step("pools"), article(), Context())
    record_result(sink, step("pools"), r, "pool-exhaustion")
    kind, title, data = sink.events[0]
    assert kind == "finding" and title == "pools: fail"
    assert data["verdict"] == "fail" and data["summary"] == r.summary
    assert data["findings"] == r.findings and data["runbook"] == "pool-exhaustion"
