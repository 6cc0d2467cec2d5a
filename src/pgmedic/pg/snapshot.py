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


def _split(rows: Sequence[Sequence[Any]]) -> tuple[tuple[Backend, ...], dict[str, int]]:
    """Rows of ``backends.sql`` -> client backends, and the other backends counted by type."""
    make = Backend._make
    clients: list[Backend] = []
    others: dict[str, int] = {}
    for r in rows:
        kind = r[0]
        if kind == "client":
            clients.append(make(r[1:]))
        else:
            others[kind] = others.get(kind, 0) + 1
    return tuple(clients), dict(sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))


def _limits(rows: Sequence[Sequence[Any]], backends: Sequence[Backend]) -> tuple[ConnLimit, ...]:
    """The limits that are set, with the client sessions counted against each."""
    if not rows:
        return ()
    per_role: dict[str | None, int] = {}
    per_db: dict[str | None, int] = {}
    for b in backends:
        per_role[b.usename] = per_role.get(b.usename, 0) + 1
        per_db[b.datname] = per_db.get(b.datname, 0) + 1
    return tuple(
        ConnLimit(kind=k, name=n, limit=lim,
                  current=(per_role if k == "role" else per_db).get(n, 0))
        for k, n, lim in rows)


def collect(conn: Connection) -> Snapshot:
    """One consistent-enough picture of the server's connection slots."""
    info, own_pid, now = server_info(conn)
    backends, others = _split(conn.query("backends", {"apps": None, "query_chars": 0}))
    limits = _limits(conn.query("conn_limits"), backends)
    return Snapshot(taken_at=now, server=info, own_pid=own_pid, backends=backends,
                    other_backends=others, limits=limits)


def backends_of(conn: Connection, applications: Sequence[str], query_chars: int = 200,
                ) -> tuple[Backend, ...]:
    """The client backends of some applications, with truncated query text (drill-down)."""
    rows = conn.query("backends", {"apps": list(applications), "query_chars": query_chars})
    clients, _ = _split(rows)
    # oldest connection first (sorted here: the refresh, which shares the query, needs no order)
    return tuple(sorted(clients, key=lambda b: (b.backend_start or 0.0, b.pid)))
