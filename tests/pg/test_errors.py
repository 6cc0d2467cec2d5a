"""Every connection error a user can cause: one clear line on stderr, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgmedic.demo.server import EmbeddedServer, free_port


def pgmedic(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PGCONNECT_TIMEOUT": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pgmedic", *args], capture_output=True,
                          text=True, timeout=60, env=full_env)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("pgmedic: ")
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def small() -> Iterator[EmbeddedServer]:
    """max_connections 6, 2 reserved for superusers, password auth for role 'pw'."""
    with EmbeddedServer(max_connections=6, superuser_reserved_connections=2,
                        hba=["host all pw 127.0.0.1/32 scram-sha-256"]) as srv:
        with psycopg.connect(srv.dsn(), autocommit=True) as c:
            c.execute("CREATE ROLE app LOGIN")
            c.execute("CREATE ROLE pw LOGIN PASSWORD 's3cret-pw'")
            c.execute("CREATE ROLE capped LOGIN CONNECTION LIMIT 1")
        yield srv


def test_malformed_conninfo() -> None:
    line = assert_one_line_error(pgmedic("snapshot", "host=a b c ="), "malformed connection string")
    assert "URI" in line


def test_unreachable_host_within_the_connect_timeout() -> None:
    port = free_port()  # nothing listens there
    proc = pgmedic("snapshot", "-h", "127.0.0.1", "-p", str(port), "--connect-timeout", "2")
    assert_one_line_error(proc, "could not reach", f"127.0.0.1:{port}")


def test_wrong_password_never_echoes_it(small: EmbeddedServer) -> None:
    url = f"postgresql://pw:wrong-secret@127.0.0.1:{small.port}/postgres"
    line = assert_one_line_error(pgmedic("snapshot", url), "authentication failed")
    assert "wrong-secret" not in line


def test_missing_database(small: EmbeddedServer) -> None:
    proc = pgmedic("snapshot", small.dsn(dbname="nosuchdb"))
    assert_one_line_error(proc, 'database "nosuchdb" does not exist', "dbname")


def test_full_server_ordinary_slots_then_every_slot(small: EmbeddedServer) -> None:
    held: list[psycopg.Connection[Any]] = []
    try:
        # 6 slots, 2 reserved: 4 ordinary ones for 'app'
        for _ in range(4):
            held.append(psycopg.connect(small.dsn(user="app"), autocommit=True))
        line = assert_one_line_error(pgmedic("snapshot", small.dsn(user="app")),
                                     "53300", "superuser")
        assert "full" in line
        # a superuser still gets in, through the reserved slots, and sees the 4
        proc = pgmedic("snapshot", "--json", small.dsn())
        assert proc.returncode == 0, proc.stderr
        assert '"client_connections": 4' in proc.stdout
        held.append(psycopg.connect(small.dsn(), autocommit=True))
        held.append(psycopg.connect(small.dsn(), autocommit=True))
        assert_one_line_error(pgmedic("snapshot", small.dsn()), "53300", "Every slot is taken")
    finally:
        for c in held:
            c.close()


def test_role_connection_limit(small: EmbeddedServer) -> None:
    with psycopg.connect(small.dsn(user="capped"), autocommit=True):
        assert_one_line_error(pgmedic("snapshot", small.dsn(user="capped")),
                              "53300", "CONNECTION LIMIT")


def test_bad_flag_is_one_line_too() -> None:
    proc = pgmedic("snapshot", "--no-such-flag")
    assert_one_line_error(proc, "unrecognized arguments")
