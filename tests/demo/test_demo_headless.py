"""`pgmedic demo --headless` as a user runs it: a connection string on one line, then the
incident until SIGTERM; and when it is killed outright, its watchdog still cleans up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from proctools import alive, children_of, postmaster_pid, processes_mentioning

from pgtools import wait_until

pytestmark = pytest.mark.pg

URL = re.compile(r"^postgresql://triage@127\.0\.0\.1:(\d+)/app$")


class Headless:
    def __init__(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pgmedic", "demo", "--headless", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        _, self.stderr = self.proc.communicate(timeout=30)


@pytest.fixture
def headless() -> Iterator[Headless]:
    h = Headless("--quiet")
    yield h
    h.close()


def inspect(url: str) -> tuple[Path, int, dict[str, int]]:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1"
        ).fetchall()
    pgdata = Path(row[0])
    return pgdata, postmaster_pid(pgdata), dict(rows)


def up(h: Headless) -> str:
    """The connection string, within 30 s, alone on its line; the incident saturated."""
    wait_until(lambda: h.lines or h.proc.poll() is not None, timeout=30,
               message="the connection string")
    assert h.proc.poll() is None, h.proc.stderr.read() if h.proc.stderr else ""
    url = h.lines[0]
    assert URL.match(url), url

    def saturated() -> bool:
        counts = inspect(url)[2]
        return sum(counts.values()) + 1 >= 94 and counts.get("checkout-api", 0) > 47

    wait_until(saturated, timeout=30, message="checkout-api holding most slots")
    return url


def test_headless_prints_url_and_sigterm_cleans_up(headless: Headless) -> None:
    url = up(headless)
    pgdata, master, _ = inspect(url)
    kids = children_of(headless.proc.pid)
    assert len(kids) >= 2 + 3 + 1 + 1  # services and the reaper (pg_ctl's postmaster detached)
    backends = children_of(master)
    headless.proc.send_signal(signal.SIGTERM)
    assert headless.proc.wait(30) == 0
    headless.close()
    assert "Traceback" not in headless.stderr
    assert not pgdata.exists() and not pgdata.parent.exists()
    assert not any(alive(p) for p in [master, *kids, *backends])
    assert processes_mentioning(str(pgdata)) == []


def test_headless_killed_outright_leaves_nothing(headless: Headless) -> None:
    url = up(headless)
    pgdata, master, _ = inspect(url)
    kids = children_of(headless.proc.pid)
    headless.proc.kill()  # no cleanup code of ours runs: the watchdog and stdin EOF must
    headless.proc.wait(10)
    wait_until(lambda: not any(alive(p) for p in [master, *kids]), timeout=20,
               message="services, reaper and postmaster gone")
    wait_until(lambda: not pgdata.parent.exists(), timeout=10, message="data removed")
    assert processes_mentioning(str(pgdata)) == []


def test_bad_max_connections_is_one_line_exit_2() -> None:
    out = subprocess.run([sys.executable, "-m", "pgmedic", "demo", "--headless",
                          "--max-connections", "5"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgmedic: --max-connections 5 is too small")


def test_missing_embedded_server_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "PGMEDIC_PG_BIN": str(tmp_path / "nowhere")}
    out = subprocess.run([sys.executable, "-m", "pgmedic", "demo", "--headless"],
                         capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgmedic: "), out.stderr
    assert "Traceback" not in out.stderr
