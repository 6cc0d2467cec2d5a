"""collect() -> Snapshot: the server's slots and its client backends, in three round trips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pgmedic.model import Backend, ConnLimit, ServerInfo, Snapshot
from pgmedic.pg.connection import Connection


def _ms(setting: str) -> int:
    """'0', '30s', '5min', '250ms' -> milliseconds (current_setting gives units)."""
    text = setting.strip()
    units = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
    for unit in ("ms", "min", "s", "h", "d"):
        if text.endswith(unit):
            try:
                return int(float(text[: -len(unit)]) * units[unit])
            except ValueError:
                return 0
    try:
        return int(text)
    except ValueError:
        return 0


def server_info(conn: Connection) -> tuple[ServerInfo, int, float]:
    """The server's settings and privileges, pgmedic's own pid and the server's clock."""
    (row,) = conn.query("server_info")
    (version_num, version, max_c, su_res, res, user, is_su, sees_all, can_signal,
     can_reserved, idle_session, idle_xact, database, own_pid, now) = row
    info = ServerInfo(
        version_num=version_num, version=version, max_connections=max_c,
        superuser_reserved_connections=su_res, reserved_connections=res,
        host=conn.host, port=conn.port, database=database, user=user,
        is_superuser=bool(is_su), sees_all=bool(sees_all), can_signal=bool(can_signal),
        can_use_reserved=bool(can_reserved),
        idle_session_timeout_ms=_ms(idle_session),
        idle_in_transaction_session_timeout_ms=_ms(idle_xact),
    )
    return info, int(own_pid), float(now)


def to_backends(rows: Sequence[Sequence[Any]]) -> tuple[Backend, ...]:
    make = Backend._make
    return tuple(make(r) for r in rows)


def collect(conn: Connection) -> Snapshot:
    """One consistent-enough picture of the server's connection slots."""
    info, own_pid, now = server_info(conn)
    backends = to_backends(conn.query("client_backends"))
    others = {str(t): int(n) for t, n in conn.query("other_backends")}
    limits = tuple(ConnLimit(kind=k, name=n, limit=lim, current=cur)
                   for k, n, lim, cur in conn.query("conn_limits"))
    return Snapshot(taken_at=now, server=info, own_pid=own_pid, backends=backends,
                    other_backends=others, limits=limits)


def backends_of(conn: Connection, applications: Sequence[str], query_chars: int = 200,
                ) -> tuple[Backend, ...]:
    """The backends of some applications, with truncated query text (drill-down)."""
    rows = conn.query("backends_detail", {"apps": list(applications), "query_chars": query_chars})
    return to_backends(rows)
