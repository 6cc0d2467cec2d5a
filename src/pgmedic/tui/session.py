"""The live session behind the TUI: one connection, refreshes, reconnect bookkeeping.

Plain Python (no Textual): the app calls :meth:`LiveSession.refresh` from a worker thread.
The first refresh can start before Textual has loaded (:meth:`prefetch`), so the first
frame already shows data.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from pgmedic.errors import ConnectError, PgmedicError
from pgmedic.model import Backend, Snapshot
from pgmedic.pg.connection import Connection, Settings
from pgmedic.pg.snapshot import backends_of, collect
from pgmedic.triage.grouping import Group, groups_of

#: seconds between reconnect attempts: 1, 2, 4, 8, 15, 15, ...
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)


@dataclass(frozen=True, slots=True)
class Refreshed:
    snapshot: Snapshot
    groups: list[Group]
    took: float  # seconds the refresh took (query + grouping)
    reconnected: bool  # this refresh had to open the connection again


class LiveSession:
    def __init__(self, conninfo: str, settings: Settings | None = None) -> None:
        self.conn = Connection(conninfo, settings)
        self.failures = 0  # consecutive failed refreshes
        self.last_ok: float | None = None  # monotonic time of the last good refresh
        self.lost_at: float | None = None  # wall time the connection was lost
        self._prefetch: Future[Refreshed] | None = None
        self._ever_connected = False
        self._closed = False  # once closed (the app quit), a late worker must not reconnect

    @property
    def target(self) -> str:
        return self.conn.target

    def prefetch(self) -> None:
        """Connect and take the first snapshot in a background thread, right now."""
        fut: Future[Refreshed] = Future()
        self._prefetch = fut

        def work() -> None:
            try:
                fut.set_result(self._refresh())
            except BaseException as exc:  # handed to whoever takes the result
                fut.set_exception(exc)

        threading.Thread(target=work, name="pgmedic-prefetch", daemon=True).start()

    def take_prefetched(self, timeout: float | None = None) -> Refreshed | None:
        """The prefetched first refresh (waits up to ``timeout``), or None if none/not ready."""
        fut = self._prefetch
        if fut is None:
            return None
        if timeout is not None and not fut.done():
            try:
                fut.result(timeout=timeout)
            except Exception:  # noqa: BLE001 - raised again below
                pass
        if not fut.done():
            return None
        self._prefetch = None
        return fut.result()

    def peek_prefetch_error(self, reasons: tuple[str, ...], wait: float = 0.3) -> None:
        """Raise the prefetch's error now if it already failed for one of ``reasons``."""
        fut = self._prefetch
        if fut is None:
            return
        try:
            fut.exception(timeout=wait)
        except TimeoutError:
            return
        exc = fut.exception()
        if isinstance(exc, ConnectError) and exc.reason in reasons:
            self._prefetch = None
            raise exc

    def refresh(self) -> Refreshed:
        """One refresh; a prefetched result is used first. Raises PgmedicError subclasses."""
        first = self.take_prefetched(timeout=None if self._prefetch else 0)
        if first is not None:
            return first
        return self._refresh()

    def _refresh(self) -> Refreshed:
        start = time.perf_counter()
        reconnected = False
        try:
            if self._closed:
                raise ConnectError("pgmedic is shutting down", reason="closed")
            if not self.conn.connected:
                self.conn.close()
                self.conn.connect()
                reconnected = self._ever_connected
                self._ever_connected = True
            snap = collect(self.conn)
        except PgmedicError:
            self.failures += 1
            if self.lost_at is None:
                self.lost_at = time.time()
            raise
        groups = groups_of(snap)
        self.failures = 0
        self.last_ok = time.monotonic()
        self.lost_at = None
        return Refreshed(snap, groups, time.perf_counter() - start, reconnected)

    def backoff(self) -> float:
        return BACKOFF[min(self.failures, len(BACKOFF)) - 1] if self.failures else 0.0

    def backends(self, applications: list[str]) -> tuple[Backend, ...]:
        if not self.conn.connected:
            raise ConnectError("not connected", reason="lost")
        return backends_of(self.conn, applications)

    def close(self) -> None:
        self._closed = True
        self.conn.close()
