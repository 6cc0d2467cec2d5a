"""Helpers for tests against a real server: sessions in a chosen state, a poller."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg


def dsn_as(dsn: str, **overrides: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, **overrides)


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05,
               message: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; return its value. Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Sessions:
    """Real client sessions in a chosen state; all closed at teardown."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conns: list[psycopg.Connection[Any]] = []
        self.threads: list[threading.Thread] = []

    def open(self, app: str, state: str = "idle", *, dsn: str | None = None,
             **conn_kwargs: Any) -> psycopg.Connection[Any]:
        conn = psycopg.connect(dsn or self.dsn, application_name=app, autocommit=True,
                               **conn_kwargs)
        self.conns.append(conn)
        if state == "idle":
            pass
        elif state == "idle in transaction":
            conn.execute("BEGIN")
            conn.execute("SELECT 1")
        elif state == "idle in transaction (aborted)":
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT 1/0")
            except psycopg.errors.DivisionByZero:
                pass
        elif state == "active":
            def sleep() -> None:
                try:
                    conn.execute("SELECT pg_sleep(600)")
                except psycopg.Error:
                    pass
            t = threading.Thread(target=sleep, daemon=True)
            t.start()
            self.threads.append(t)
        else:
            raise ValueError(state)
        return conn

    def many(self, n: int, app: str, state: str = "idle", **kw: Any,
             ) -> list[psycopg.Connection[Any]]:
        return [self.open(app, state, **kw) for _ in range(n)]

    def close(self) -> None:
        for conn in self.conns:
            try:
                if not conn.closed:
                    conn.cancel_safe(timeout=2) if hasattr(conn, "cancel_safe") else conn.cancel()
            except psycopg.Error:
                pass
        for t in self.threads:
            t.join(timeout=5)
        for conn in self.conns:
            try:
                conn.close()
            except psycopg.Error:
                pass
        self.conns.clear()


def count_backends(admin: psycopg.Connection[Any], app: str) -> int:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,)
    ).fetchone()
    return int(row[0]) if row else 0
