"""`pgmedic budget` as CI runs it: a subprocess, no TTY, exit codes 0/1/2, stable JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ARTICLE_BUGGY = """\
max_connections = 100
# 10 (health checker) + 10 (dependency checker) + 6 x 10 (workers) per container
[services.worker]
pool_max = 10
pools_per_replica = 8
replicas = 2
"""


def budget(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pgmedic", "budget", *args],
                          capture_output=True, text=True, timeout=60, env=full_env,
                          stdin=subprocess.DEVNULL)


def as_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_article_napkin_math_fits_exit_0() -> None:
    proc = budget("--pool-max", "5", "--replicas", "10", "--max-connections", "100",
                  "--headroom", "20", "--json")
    assert proc.returncode == 0, proc.stderr
    d = as_json(proc)
    assert (d["demand"], d["capacity"], d["fits"], d["margin"]) == (50, 80, True, 30)
    (s,) = d["services"]
    assert {k: s[k] for k in ("name", "pool_max", "pools_per_replica", "replicas", "demand",
                              "max_pool_that_fits")} == {
        "name": "app", "pool_max": 5, "pools_per_replica": 1, "replicas": 10, "demand": 50,
        "max_pool_that_fits": 7}


def test_article_table_output() -> None:
    proc = budget("--pool-max", "5", "--replicas", "10", "--max-connections", "100",
                  "--headroom", "20")
    assert proc.returncode == 0, proc.stderr
    assert "demand 50 < capacity 80: fits, margin 30" in proc.stdout


def test_article_buggy_service_over_budget_exit_1(tmp_path: Path) -> None:
    f = tmp_path / "services.toml"
    f.write_text(ARTICLE_BUGGY)
    proc = budget("--services", str(f), "--json")
    assert proc.returncode == 1, proc.stderr
    d = as_json(proc)
    assert (d["demand"], d["capacity"], d["fits"]) == (160, 100, False)
    s = d["services"][0]
    assert s["per_replica"] == 80 and s["shared_pool_that_fits"] == 49
    assert "one shared pool" in s["recommendation"]
    table = budget("--services", str(f))
    assert table.returncode == 1
    assert "over budget" in table.stdout and "one shared pool" in table.stdout
    # the what-if: one shared pool of 10 per process fits
    fixed = budget("--services", str(f), "--pools-per-replica", "1", "--json")
    assert fixed.returncode == 0 and as_json(fixed)["demand"] == 20


def test_flags_override_manifest_and_env_default(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('headroom = "20%"\nmax_connections = 100\n[services.a]\nreplicas = 4\n'
                 '[services.b]\npool_max = 5\nreplicas = 2\nsurge = 0.5\n')
    proc = budget("--services", str(f), "--json", env={"PG_POOL_MAX_SIZE": "10"})
    d = as_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert d["capacity"] == 80 and d["demand"] == 40 + 15
    proc = budget("--services", str(f), "--json", "--headroom", "30", "--reserve", "20",
                  "--service", "b", "--pool-max", "6", env={"PG_POOL_MAX_SIZE": "10"})
    d = as_json(proc)
    assert d["capacity"] == 50 and d["demand"] == 58 and proc.returncode == 1
    assert d["limits"]["sources"]["headroom"] == "flag"


@pytest.mark.parametrize(("manifest", "args", "message"), [
    ("[services.x]\npool_size = 3\n", (),
     "unknown key 'pool_size' in [services.x] (did you mean 'pool_max'?)"),
    ("[services.x]\npool_max = = 3\n", (), ":2:12: invalid TOML"),
    ("[services.x]\npool_max = -3\n", ("--max-connections", "10"), "must be at least 1"),
    ("[services.x]\npool_max = 3\nsurge = 4\n", ("--max-connections", "10"),
     "must be between 0 and 1"),
    ("[services.x]\npool_max = 3\n", (), "max_connections is unknown"),
    ("[services.x]\npool_max = 3\n", ("--max-connections", "0"), "--max-connections must be"),
    ("[services.x]\npool_max = 3\n", ("--max-connections", "abc"), "whole number"),
    ("[services.x]\npool_max = 3\n", ("--max-connections", "9", "--headroom", "x%"),
     "--headroom must be"),
    ("[services.x]\npool_max = 3\n[services.y]\npool_max = 3\n",
     ("--max-connections", "9", "--pool-max", "3"), "Add --service NAME"),
])
def test_bad_input_one_line_exit_2(tmp_path: Path, manifest: str, args: tuple[str, ...],
                                   message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(manifest)
    proc = budget("--services", str(f), *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("pgmedic: ")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_file_and_no_services(tmp_path: Path) -> None:
    proc = budget("--services", str(tmp_path / "nope.toml"), "--max-connections", "10")
    assert proc.returncode == 2 and "no such services manifest" in proc.stderr
    proc = budget("--max-connections", "10")
    assert proc.returncode == 2 and "no services to budget" in proc.stderr
    proc = budget("--pool-max", "5", "--max-connections", "10", env={"PG_POOL_MAX_SIZE": "x"})
    assert proc.returncode == 2 and "PG_POOL_MAX_SIZE" in proc.stderr


@pytest.mark.pg
def test_live_uses_the_servers_max_connections(dsn: str, tmp_path: Path, sessions: Any,
                                               unique_app: Any) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT current_setting('max_connections')::int, "
                           "current_setting('superuser_reserved_connections')::int").fetchone()
    assert row is not None
    max_conn, su = row
    app = unique_app("budget-live")
    sessions.many(3, app)
    f = tmp_path / "s.toml"
    f.write_text(f'max_connections = 7\n[services."{app}"]\npool_max = 1\nreplicas = 1\n')
    proc = budget("--services", str(f), dsn, "--json")
    assert proc.returncode == 0, proc.stderr
    d = as_json(proc)
    assert d["live"] is True
    assert d["limits"]["max_connections"] == max_conn
    assert d["limits"]["superuser_reserved_connections"] == su
    assert d["limits"]["sources"]["max_connections"] == "server"
    obs = d["services"][0]["observed"]
    assert obs["connections"] == 3 and obs["replicas"] == 1
    text = " ".join(d["warnings"])
    assert "3 connections from one replica, declared 1 x 1 = 1" in text
    assert f"the manifest says max_connections 7, the server has {max_conn}" in text
