"""Plain data that every layer shares: what a snapshot of the server holds.

No I/O and no third-party imports here: ``pg/`` fills these, ``triage/``,
``runbook/`` and ``report/`` read them, ``tui/`` shows them.
Times are seconds since the epoch on the *server's* clock, so ages never
depend on the clock of the machine pgmedic runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: the state shown for a row whose details the operator may not see
HIDDEN_STATE = "(hidden)"


class Backend(NamedTuple):
    """One client backend (one connection slot), as pg_stat_activity shows it."""

    pid: int
    application_name: str
    usename: str | None
    datname: str | None
    client_addr: str | None  # None: Unix socket, or hidden by privileges
    client_port: int | None
    state: str  # 'idle', 'active', ..., or HIDDEN_STATE
    backend_start: float | None  # epoch seconds, server clock
    state_change: float | None
    xact_start: float | None
    wait_event: str | None
    superuser: bool
    query: str | None = None  # only fetched when drilled into


@dataclass(frozen=True, slots=True)
class ServerInfo:
    version_num: int  # server_version_num, e.g. 160002
    version: str  # "16.2"
    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int  # PG16+; 0 before
    host: str  # where pgmedic connected: host name, address or socket directory
    port: int
    database: str
    user: str  # the role pgmedic is connected as
    is_superuser: bool
    sees_all: bool  # superuser or pg_read_all_stats: every row's state is visible
    can_signal: bool  # superuser or pg_signal_backend
    can_use_reserved: bool  # superuser, or pg_use_reserved_connections (16+)
    idle_session_timeout_ms: int = 0
    idle_in_transaction_session_timeout_ms: int = 0

    @property
    def usable_connections(self) -> int:
        """Slots ordinary roles can use: max_connections minus every reserved slot."""
        return max(
            0,
            self.max_connections - self.superuser_reserved_connections - self.reserved_connections,
        )

    @property
    def major(self) -> int:
        return self.version_num // 10000


@dataclass(frozen=True, slots=True)
class ConnLimit:
    """A per-role or per-database connection limit that is set (not -1)."""

    kind: str  # 'role' or 'database'
    name: str
    limit: int
    current: int  # client backends of that role / in that database (pgmedic's own excluded)


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: float  # server clock, epoch seconds
    server: ServerInfo
    own_pid: int
    backends: tuple[Backend, ...]  # client backends, pgmedic's own excluded
    other_backends: dict[str, int] = field(default_factory=dict)  # backend_type -> count
    limits: tuple[ConnLimit, ...] = ()

    @property
    def client_connections(self) -> int:
        return len(self.backends)

    @property
    def hidden(self) -> int:
        return sum(1 for b in self.backends if b.state == HIDDEN_STATE)

    def age(self, at: float | None) -> float | None:
        """Seconds between a server timestamp and this snapshot, None stays None."""
        return None if at is None else max(0.0, self.taken_at - at)
