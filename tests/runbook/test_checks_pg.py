"""Each check against real sessions, the CLI by subprocess (exit codes, JSON keys)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pgmedic.model import Snapshot
from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import collect
from pgmedic.runbook import Context, record_result, run_check
from pgmedic.runbook_files import load_runbook
from pgmedic.store import TimelineStore
from pgtools import Sessions, wait_until

POD_A, POD_B = "-7d9f8c6b5-x2x9q", "-7d9f8c6b5-k8r4m"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgmedic", *args], capture_output=True,
                          text=True, timeout=60)


def incident(sessions: Sessions, unique_app: Any) -> tuple[str, str, list[str]]:
    """2 pods of a buggy service with 4 pools of 5 each (20 per pod), 3 pods of a healthy
    one with one shared pool of 3. Returns (bad service, good service, every app name)."""
    bad, good = unique_app("checkout"), unique_app("orders")
    apps = [bad + POD_A, bad + POD_B]
    for app in apps:
        sessions.many(20, app)
    for pod in ("-5c7b9d8f4-p2q7z", "-5c7b9d8f4-w9x4n", "-5c7b9d8f4-z8v2c"):
        sessions.many(3, good + pod)
        apps.append(good + pod)
    return bad, good, apps


def snapshot_of(conn: Connection, apps: list[str], n: int) -> Snapshot:
    def seen() -> Snapshot | None:
        snap = collect(conn)
        mine = tuple(b for b in snap.backends if b.application_name in apps)
        return dataclasses.replace(snap, backends=mine) if len(mine) == n else None
    snap: Snapshot = wait_until(seen, message=f"{n} sessions")
    return snap


def test_checks_on_real_sessions(dsn: str, sessions: Sessions, unique_app: Any) -> None:
    bad, good, apps = incident(sessions, unique_app)
    rb = load_runbook("pool-exhaustion")
    with Connection(dsn) as conn:
        snap = snapshot_of(conn, apps, 49)
    ctx = Context(pool_max=5)

    slots = run_check(rb.step("confirm"), snap, ctx)
    assert slots.findings["used"] == 49 and slots.findings["usable"] == (
        snap.server.usable_connections)
    assert slots.verdict in ("ok", "warn") and "not slot exhaustion" in slots.summary

    holders = run_check(rb.step("holders"), snap, ctx)
    assert holders.findings["top_service"] == bad and holders.findings["top_connections"] == 40
    assert holders.rows[0]["replicas"] == 2 and holders.rows[0]["idle_ratio"] == 1.0
    assert holders.rows[1]["service"] == good and holders.rows[1]["replicas"] == 3

    pools = run_check(rb.step("pools"), snap, ctx)
    assert pools.verdict == "fail"
    off = pools.findings["offender"]
    assert off["service"] == bad and off["replicas"] == 2 and off["connections"] == 40
    assert off["estimated_pools_per_replica"] == 4
    assert pools.summary.startswith(f"{bad} holds 40 connections from 2 replicas: about 4 "
                                    "pools of 5 per process, expected 1")
    good_est = next(r for r in pools.rows if r["service"] == good)
    assert not good_est["too_many_pools"]

    relieve = run_check(rb.step("relieve"), snap, ctx)
    assert relieve.verdict == "unknown" and relieve.summary.startswith("interactive:")
    assert relieve.findings["service"] == bad

    share = run_check(rb.step("share"), snap, ctx)
    assert share.verdict == "unknown" and "pgmedic share" in share.summary
    follow = run_check(rb.step("follow-up"), snap, ctx)
    assert len(follow.findings["items"]) == 5

    store = TimelineStore.new("test")
    record_result(store, rb.step("pools"), pools, rb.id)
    event = TimelineStore.open(store.path).timeline.last("finding")
    assert event is not None and event.data["verdict"] == "fail"
    assert event.data["findings"]["offender"]["service"] == bad


def test_runbook_run_json(dsn: str, sessions: Sessions, unique_app: Any) -> None:
    bad, good, apps = incident(sessions, unique_app)
    with Connection(dsn) as conn:
        snapshot_of(conn, apps, 49)
    proc = run_cli("runbook", "run", "pool-exhaustion", dsn, "--json", "--pool-max", "5")
    assert proc.returncode == 1, proc.stderr  # the pools check fails
    data = json.loads(proc.stdout)
    assert data["runbook"] == "pool-exhaustion" and data["verdict"] == "fail"
    assert [s["id"] for s in data["steps"]][:3] == ["confirm", "holders", "pools"]
    for step in data["steps"]:
        assert {"id", "title", "verdict", "findings"} <= set(step)
        assert step["verdict"] in ("ok", "warn", "fail", "unknown")
    off = data["offender"]
    assert off["service"] == bad and off["connections"] == 40 and off["idle"] == 40
    assert off["replicas"] == 2 and off["estimated_pools_per_replica"] == 4

    text = run_cli("runbook", "run", "pool-exhaustion", dsn, "--pool-max", "5")
    assert text.returncode == 1 and "Too many pools?" in text.stdout and bad in text.stdout


def test_runbook_run_no_offender_exits_0(dsn: str, sessions: Sessions, unique_app: Any,
                                         tmp_path: Path) -> None:
    app = unique_app("calm")
    sessions.many(2, app)
    book = tmp_path / "calm.md"
    book.write_text("---\nid: calm\ntitle: Calm\n---\n## Who\n```pgmedic\ncheck: holders\n```\n"
                    "## Count\n```pgmedic\nsql: |\n  SELECT count(*) AS n FROM pg_stat_activity"
                    f"\n  WHERE application_name = '{app}'\n```\n", "utf-8")
    proc = run_cli("runbook", "run", str(book), dsn, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["offender"] is None
    count = data["steps"][1]
    assert count["verdict"] == "ok" and count["rows"] == [{"n": 2}]


def test_cli_list_check_and_errors(dsn: str, tmp_path: Path) -> None:
    listing = run_cli("runbook")
    assert listing.returncode == 0 and "pool-exhaustion" in listing.stdout

    good = run_cli("runbook", "check", "runbooks/pool-exhaustion.md")
    assert good.returncode == 0 and "7 steps" in good.stdout

    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: bad\ntitle: Bad\n---\n## a\n```pgmedic\ncheck: nosuch\n```\n",
                   "utf-8")
    broken = run_cli("runbook", "check", str(bad))
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"{bad}:7: unknown check 'nosuch'")

    missing = run_cli("runbook", "run", "no-such-runbook", dsn)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no runbook 'no-such-runbook'" in missing.stderr

    broken_run = run_cli("runbook", "run", str(bad), dsn)
    assert broken_run.returncode == 2 and f"{bad}:7:" in broken_run.stderr

    zero = run_cli("runbook", "run", "pool-exhaustion", dsn, "--pool-max", "0")
    assert zero.returncode == 2 and "--pool-max" in zero.stderr
    nofile = run_cli("runbook", "check", str(tmp_path / "nope.md"))
    assert nofile.returncode == 2 and nofile.stderr.count("\n") == 1
