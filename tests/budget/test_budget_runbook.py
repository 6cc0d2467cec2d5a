"""Runbook step 5 agrees with `pgmedic budget` on the same inputs."""

from __future__ import annotations

from pgmedic.model import Backend, ServerInfo, Snapshot
from pgmedic.runbook.checks_budget import budget_check, budget_inputs, check, context_with_manifest
from pgmedic.runbook.model import Context
from pgmedic.triage.budget import compute, inputs_from
from pgmedic.triage.manifest import parse_manifest

BUGGY = """\
headroom = 0
[services.worker]
pool_max = 10
pools_per_replica = 8
replicas = 2
"""


def server(max_connections: int = 100, su: int = 0) -> ServerInfo:
    return ServerInfo(version_num=160002, version="16.2", max_connections=max_connections,
                      superuser_reserved_connections=su, reserved_connections=0,
                      host="h", port=5432, database="d", user="u", is_superuser=True,
                      sees_all=True, can_signal=True, can_use_reserved=True)


def backend(app: str, addr: str, start: float) -> Backend:
    return Backend(pid=1, application_name=app, usename="u", datname="d", client_addr=addr,
                   client_port=1, state="idle", backend_start=start, state_change=start,
                   xact_start=None, wait_event=None, superuser=False)


def snapshot(max_connections: int = 100) -> Snapshot:
    rows = [backend("worker", f"10.0.0.{r}", 1000.0 + p * 5)
            for r in (1, 2) for p in range(4) for _ in range(10)]
    return Snapshot(taken_at=2000.0, server=server(max_connections), own_pid=0,
                    backends=tuple(rows))


def test_runbook_agrees_with_the_cli_math() -> None:
    snap = snapshot()
    ctx = context_with_manifest(Context(), BUGGY, "services.toml")
    result = check(snap, {}, ctx)
    cli = compute(inputs_from(parse_manifest(BUGGY, "services.toml"), snap))
    assert result.verdict == "fail"
    f = result.findings
    assert (f["demand"], f["capacity"], f["fits"], f["margin"]) == (
        cli.demand, cli.capacity, cli.fits, cli.margin) == (160, 100, False, -60)
    assert "one shared pool" in result.summary
    assert result.rows[0]["observed"] == 80
    obs = budget_inputs(snap, ctx).observed["worker"]
    assert (obs.connections, obs.replicas, obs.max_per_replica) == (80, 2, 40)


def test_fits_is_ok_and_params_override() -> None:
    snap = snapshot(max_connections=500)
    ctx = context_with_manifest(Context(), BUGGY, "services.toml")
    assert check(snap, {}, ctx).verdict in ("ok", "warn")
    assert check(snap, {"headroom": "70%"}, ctx).verdict == "fail"  # 500 - 350 = 150 < 160


def test_without_manifest_budgets_one_shared_pool_at_current_scale() -> None:
    result = check(snapshot(), {}, Context(pool_max=10))
    assert result.findings["basis"] == "observed"
    assert result.findings["demand"] == 20  # one pool of 10 x 2 replicas
    assert result.verdict in ("ok", "warn")


def test_plain_signature_and_bad_params() -> None:
    verdict, summary, findings = budget_check(snapshot(), parse_manifest(BUGGY))
    assert verdict == "fail" and findings["demand"] == 160 and "over budget" in summary
    bad = check(snapshot(), {"headroom": "lots"}, Context(pool_max=10))
    assert bad.verdict == "unknown" and "headroom" in bad.summary
