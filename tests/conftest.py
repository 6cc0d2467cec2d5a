"""Shared fixtures: a real PostgreSQL for the whole run, real sessions, a poller.

The server is the embedded one (``pgserver`` wheel; ``PGMEDIC_PG_BIN`` picks other
binaries, e.g. /usr/lib/postgresql/15/bin) unless ``PGMEDIC_TEST_DSN`` names a superuser
conninfo of another server. Tests use unique application names so they never count
each other's sessions.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import settings

from pgmedic.demo.server import EmbeddedServer
from pgtools import Sessions

# fuzzing is deterministic (a fixed seed: the same examples every run, so CI cannot turn red
# by chance) and has no per-example deadline (this machine is shared by many processes);
# HYPOTHESIS_PROFILE=explore draws new examples.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config: pytest.Config) -> str:
    where = os.environ.get("PGMEDIC_TEST_DSN") and "PGMEDIC_TEST_DSN" or (
        "embedded (" + (os.environ.get("PGMEDIC_PG_BIN") or "pgserver wheel") + ")")
    return f"pgmedic test server: {where}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer | None]:
    if os.environ.get("PGMEDIC_TEST_DSN"):
        yield None
        return
    # the watchdog stops it even if this test run is killed: no orphaned postgres
    with EmbeddedServer(max_connections=200, watchdog=True) as srv:
        yield srv


@pytest.fixture(scope="session")
def dsn(pg_server: EmbeddedServer | None) -> str:
    """A superuser conninfo of the test server; the run stops at once if it is unreachable."""
    conninfo = os.environ.get("PGMEDIC_TEST_DSN") or (pg_server.dsn() if pg_server else "")
    try:
        with psycopg.connect(conninfo, connect_timeout=5) as conn:
            version = conn.info.server_version
    except psycopg.OperationalError as exc:
        pytest.exit(f"test server unreachable: {exc}", returncode=3)
    assert version >= 130000
    return conninfo


@pytest.fixture
def unique_app() -> Callable[[str], str]:
    """unique_app("checkout") -> 'checkout-3f9a1c' : names no other test uses."""
    tag = uuid.uuid4().hex[:6]
    return lambda base: f"{base}-{tag}"


@pytest.fixture
def sessions(dsn: str) -> Iterator[Sessions]:
    s = Sessions(dsn)
    yield s
    s.close()


@pytest.fixture
def admin(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser session of the test's own, for setup and for looking from outside."""
    with psycopg.connect(dsn, autocommit=True, application_name="pgmedic-tests-admin") as conn:
        yield conn


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never touch the user's own config, timelines, audit log or webhook."""
    base = tmp_path_factory.mktemp("pgmedic-home")
    monkeypatch.setenv("PGMEDIC_STATE_DIR", str(base / "state"))
    monkeypatch.setenv("PGMEDIC_CONFIG_DIR", str(base / "config"))
    monkeypatch.delenv("PGMEDIC_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("PG_POOL_MAX_SIZE", raising=False)
    yield


@pytest.fixture(scope="session")
def app_dsn(dsn: str) -> str:
    """A conninfo for an ordinary (non-superuser) role, as services connect in real life."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'pgmedic_test_app'"
                              ).fetchone()
        if not exists:
            conn.execute("CREATE ROLE pgmedic_test_app LOGIN")
    return psycopg.conninfo.make_conninfo(dsn, user="pgmedic_test_app")


@pytest.fixture
def build_app(dsn: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The TUI as the CLI builds it, on the test server (or ``conninfo``), deterministic:
    no blinking cursor in inputs. Textual is imported only by the tests that use it."""
    from textual.widgets import Input

    from pgmedic.tui.app import make_app
    from tuitools import tui_args

    monkeypatch.setattr(Input, "cursor_blink", False)

    def build(conninfo: str | None = None, **kw: Any) -> Any:
        return make_app(conninfo or dsn, tui_args(**kw))
    return build
