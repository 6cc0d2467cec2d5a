"""`pgmedic terminate` end to end: dry run, --yes, JSON, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgtools import Sessions, count_backends, dsn_as, wait_until

pytestmark = pytest.mark.pg


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgmedic", "terminate", *args],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.fixture
def app_role(admin: psycopg.Connection[Any], unique_app: Any) -> Iterator[str]:
    name = str(unique_app("cliapp")).replace("-", "_")
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield name
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                  (name,))
    wait_until(lambda: count_role(admin, name) == 0, message="the role's sessions to end")
    admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def count_role(admin: psycopg.Connection[Any], role: str) -> int:
    row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                        (role,)).fetchone()
    return int(row[0]) if row else 0


def test_dry_run_changes_nothing_then_yes_terminates_exactly(
        dsn: str, sessions: Sessions, unique_app: Any, admin: psycopg.Connection[Any],
        app_role: str) -> None:
    api, other = unique_app("api"), unique_app("other")
    app_dsn = dsn_as(dsn, user=app_role)
    idle = sessions.many(3, api, "idle", dsn=app_dsn)
    sessions.open(api, "idle in transaction", dsn=app_dsn)
    sessions.many(2, other, "idle", dsn=app_dsn)
    idle_pids = sorted(c.info.backend_pid for c in idle)

    proc = run_cli(dsn, "--app", api, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["dry_run"] is True and data["results"] is None and data["audit_log"] is None
    assert sorted(t["pid"] for t in data["targets"]) == idle_pids and data["count"] == 3
    assert count_backends(admin, api) == 4 and count_backends(admin, other) == 2
    assert not Path(os.environ["PGMEDIC_STATE_DIR"], "audit.log").exists()

    human = run_cli(dsn, "--app", api)
    assert human.returncode == 0, human.stderr
    assert "dry run: nothing terminated" in human.stdout and "3 targets" in human.stdout
    assert count_backends(admin, api) == 4

    proc = run_cli(dsn, "--app", api, "--yes", "--json", "--wait", "0.1")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["dry_run"] is False
    assert sorted(r["pid"] for r in data["results"] if r["result"] == "terminated") == idle_pids
    assert data["verification"]["terminated"] == 3
    assert "mitigation" in data["verification"]["advice"]
    log = Path(data["audit_log"])
    assert log.parent == Path(os.environ["PGMEDIC_STATE_DIR"])
    assert sorted(json.loads(x)["pid"] for x in log.read_text().splitlines()) == idle_pids
    wait_until(lambda: count_backends(admin, api) == 1, message="only the idle ones to die")
    assert count_backends(admin, other) == 2

    again = run_cli(dsn, "--app", api, "--yes")
    assert again.returncode == 0, again.stderr
    assert "nothing to terminate" in again.stdout


def test_yes_prints_results_and_audit_path(dsn: str, sessions: Sessions, unique_app: Any,
                                           app_role: str) -> None:
    api = unique_app("api")
    sessions.many(2, api, "idle", dsn=dsn_as(dsn, user=app_role))
    proc = run_cli(dsn, "--app", api, "--yes", "--wait", "0")
    assert proc.returncode == 0, proc.stderr
    assert "terminated 2 of 2" in proc.stdout
    assert "audit log:" in proc.stdout and "mitigation" in proc.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["--app", "x", "--idle-for", "soon"], "not a duration: 'soon'"),
    (["--app", "x", "--state", "active"], "cannot terminate sessions in state 'active'"),
    (["--idle-for", "30s"], "name the application"),
    (["--app", "x", "--limit", "0"], "--limit must be at least 1"),
    (["--app", "x", "--read-only", "--yes"], "termination is disabled"),
    (["--app", "x", "--read-only"], "termination is disabled"),
    (["--app", "x", "--limit", "many"], "invalid int value"),
])
def test_bad_input_is_one_line_and_exit_2(dsn: str, args: list[str], needle: str) -> None:
    proc = run_cli(dsn, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgmedic: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_connection_error_is_exit_2(dsn: str) -> None:
    bad = dsn_as(dsn, port="1", password="s3cret", connect_timeout="2")
    proc = run_cli(bad, "--app", "x", "--yes")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "s3cret" not in proc.stderr
