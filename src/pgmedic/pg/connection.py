"""The one dedicated connection: conninfo as psql takes it, timeouts, errors, reconnect.

Rules (DESIGN.md): exactly one backend per pgmedic process, no pool;
``application_name=pgmedic``; connect_timeout, statement_timeout and lock_timeout on its own
session; autocommit; ``default_transaction_read_only=on`` unless an action opts out.
libpq does all conninfo parsing (URI, key=value, PG* variables, .pgpass, service files).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from pgmedic.errors import ConnectError, QueryError, ServerFullError, redact
from pgmedic.pg import queries

APPLICATION_NAME = "pgmedic"


@dataclass(frozen=True, slots=True)
class Settings:
    connect_timeout: int = 5  # seconds (libpq applies a 2 s minimum)
    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 2000
    read_only: bool = True


def build_conninfo(
    conninfo: str | None = None,
    *,
    host: str | None = None,
    port: str | int | None = None,
    user: str | None = None,
    dbname: str | None = None,
) -> str:
    """Merge a positional conninfo (URI or key=value) with psql-style flags.

    Raises :class:`ConnectError` (reason ``conninfo``) for a malformed string. Environment
    variables, .pgpass and service files are left to libpq at connect time.
    """
    overrides = {
        k: str(v) for k, v in {"host": host, "port": port, "user": user, "dbname": dbname}.items()
        if v is not None
    }
    text = conninfo or ""
    # psql accepts a bare database name as its positional argument
    if text and "=" not in text and "://" not in text:
        overrides.setdefault("dbname", text)
        text = ""
    try:
        return pg_conninfo.make_conninfo(text, **overrides)
    except psycopg.ProgrammingError as exc:
        raise ConnectError(
            f"malformed connection string: {redact(_first_line(str(exc)))}",
            "use a URI (postgresql://user@host:5432/db) or key=value pairs (host=... dbname=...)",
            reason="conninfo",
        ) from exc


def target_of(conninfo: str) -> str:
    """A short description of where a conninfo points: never its password."""
    try:
        params = pg_conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "the server"
    host = str(params.get("host") or params.get("hostaddr") or "local socket")
    port = params.get("port")
    where = f"{host}:{port}" if port else host
    user = params.get("user")
    db = params.get("dbname")
    out = where + (f"/{db}" if db else "")
    return out + (f" as {user}" if user else "")


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else text.strip()


def _strip_libpq_prefix(text: str) -> str:
    # 'connection to server at "127.0.0.1", port 5 failed: FATAL:  sorry, ...' -> 'sorry, ...'
    msg = _first_line(text)
    msg = re.sub(r"^connection failed: ", "", msg)
    msg = re.sub(r'^connection to server (at|on) .*? failed: ', "", msg)
    msg = re.sub(r"^(FATAL|ERROR):\s+", "", msg)
    return msg


_FULL_PATTERNS: tuple[tuple[str, str], ...] = (
    ("too many connections for role", "role"),
    ("too many connections for database", "database"),
    ("remaining connection slots are reserved", "reserved"),
    ("sorry, too many clients already", "server"),
)


def classify_connect_error(exc: Exception, target: str) -> ConnectError:
    """Turn a psycopg connect failure into one line that says what happened and what to do."""
    raw = redact(str(exc))
    target = redact(target)
    msg = _strip_libpq_prefix(raw)
    low = raw.lower()
    for pattern, limit in _FULL_PATTERNS:
        if pattern in low:
            return _full_error(msg, limit, target)
    if "password authentication failed" in low or "no password supplied" in low:
        return ConnectError(
            f"authentication failed for {target}: {msg}",
            "check the user and password (PGPASSWORD, ~/.pgpass or the conninfo)",
            reason="auth",
        )
    if re.search(r'database ".*" does not exist', low):
        return ConnectError(
            f"{msg} on {target}",
            "check the database name (-d, dbname=, PGDATABASE)",
            reason="database",
        )
    if re.search(r'role ".*" does not exist', low):
        return ConnectError(f"{msg} on {target}", "check the user name (-U, user=, PGUSER)",
                            reason="auth")
    if "no pg_hba.conf entry" in low or "permission denied" in low:
        return ConnectError(f"{msg}", "ask the DBA to allow this role and host in pg_hba.conf",
                            reason="auth")
    if "timeout expired" in low:
        return ConnectError(
            f"could not reach {target}: no answer within the connect timeout",
            "check host and port, the network path, and that the server is up",
            reason="unreachable",
        )
    if ("connection refused" in low or "could not translate host name" in low
            or "no route to host" in low or "network is unreachable" in low
            or "no such file or directory" in low or "name or service not known" in low):
        return ConnectError(
            f"could not reach {target}: {msg}",
            "check host and port (-h, -p, PGHOST, PGPORT) and that the server is up",
            reason="unreachable",
        )
    if ("invalid connection option" in low or "invalid uri" in low or "missing \"=\"" in low
            or "invalid integer value" in low or "invalid sslmode" in low):
        return ConnectError(f"malformed connection string: {msg}",
                            "use a URI or key=value pairs", reason="conninfo")
    return ConnectError(f"could not connect to {target}: {msg}", reason="connect")


def _full_error(msg: str, limit: str, target: str) -> ServerFullError:
    if limit == "role":
        hint = ("that role's CONNECTION LIMIT is used up: connect as another role, or raise it "
                "(ALTER ROLE ... CONNECTION LIMIT)")
    elif limit == "database":
        hint = ("that database's CONNECTION LIMIT is used up: connect to another database "
                "(-d postgres) or as a superuser")
    elif limit == "reserved":
        hint = ("the ordinary slots are full and the rest are reserved "
                "(superuser_reserved_connections, 3 by default; on PostgreSQL 16+ also "
                "reserved_connections): connect as a superuser, or on 16+ as a member of "
                "pg_use_reserved_connections")
    else:
        hint = ("every slot is taken, the reserved ones too (even superusers are refused): "
                "free one (stop a client, or "
                "pg_terminate_backend from a session that is already in), or go through PgBouncer")
    return ServerFullError(
        f"{target} is full (SQLSTATE 53300: {msg})", hint, limit=limit
    )


class Connection:
    """pgmedic's one connection to the server. Thread-safe: one statement at a time.

    It is opened once and kept open between refreshes: during exhaustion a reconnect may
    not get back in.
    """

    def __init__(self, conninfo: str, settings: Settings | None = None) -> None:
        self.conninfo = conninfo
        self.settings = settings or Settings()
        self.target = target_of(conninfo)
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.RLock()
        self.backend_pid: int | None = None
        self.server_version: int = 0

    # -- lifecycle -------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        s = self.settings
        params = pg_conninfo.conninfo_to_dict(self.conninfo)
        options = str(params.get("options") or "")
        ours = (f"-c statement_timeout={s.statement_timeout_ms} "
                f"-c lock_timeout={s.lock_timeout_ms} "
                f"-c default_transaction_read_only={'on' if s.read_only else 'off'}")
        return {
            "application_name": APPLICATION_NAME,
            "connect_timeout": str(s.connect_timeout),
            "options": f"{options} {ours}".strip(),
        }

    def connect(self) -> None:
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                return
            try:
                conn = psycopg.Connection.connect(self.conninfo, autocommit=True, **self._params())
            except psycopg.OperationalError as exc:
                raise classify_connect_error(exc, self.target) from None
            except psycopg.ProgrammingError as exc:
                raise ConnectError(f"malformed connection string: "
                                   f"{redact(_first_line(str(exc)))}",
                                   reason="conninfo") from None
            self._conn = conn
            self.backend_pid = conn.info.backend_pid
            self.server_version = conn.info.server_version
            if self.server_version >= 140000:
                # a role-level idle_session_timeout must not close pgmedic's one session
                # between refreshes (PostgreSQL 14+; 13 has no such setting)
                try:
                    conn.execute("SET idle_session_timeout = 0")
                except psycopg.Error:
                    pass
            # describe the target by what libpq resolved (env, service file...), no password
            info = conn.info
            self.target = f"{info.host}:{info.port}/{info.dbname} as {info.user}"

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed and not self._conn.broken

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def __enter__(self) -> Connection:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host(self) -> str:
        return self._conn.info.host if self._conn is not None else ""

    @property
    def port(self) -> int:
        return int(self._conn.info.port) if self._conn is not None else 0

    # -- statements ------------------------------------------------------------------
    def fetch(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None,
              ) -> list[tuple[Any, ...]]:
        """Run one statement, return all rows. Errors become :class:`QueryError` or, when the
        connection is gone, :class:`ConnectError` with reason ``lost``."""
        with self._lock:
            if self._conn is None or self._conn.closed:
                raise ConnectError("not connected", reason="lost")
            try:
                cur = self._conn.execute(sql, params, prepare=False)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.errors.QueryCanceled as exc:
                raise QueryError(
                    f"query timed out after {self.settings.statement_timeout_ms} ms "
                    f"(statement_timeout): {_first_line(str(exc))}",
                    "the server is slow, or a catalog pgmedic reads is locked "
                    "(--statement-timeout MS raises the bound)",
                ) from None
            except psycopg.errors.LockNotAvailable as exc:
                raise QueryError(f"lock timeout: {_first_line(str(exc))}") from None
            except psycopg.errors.InsufficientPrivilege as exc:
                raise QueryError(f"permission denied: {_first_line(str(exc))}",
                                 "see the README for the role pgmedic needs") from None
            except psycopg.OperationalError as exc:
                if self._conn is not None and (self._conn.closed or self._conn.broken):
                    self._conn = None
                    raise ConnectError(
                        f"lost the connection to {self.target}: {_strip_libpq_prefix(str(exc))}",
                        "reconnecting", reason="lost") from None
                raise QueryError(_first_line(str(exc))) from None
            except psycopg.Error as exc:
                raise QueryError(_first_line(str(exc))) from None

    def query(self, name: str, params: Mapping[str, Any] | Sequence[Any] | None = None,
              ) -> list[tuple[Any, ...]]:
        """Run a named query from ``pg/queries`` suited to this server's version."""
        return self.fetch(queries.get(name, self.server_version), params)

    @contextmanager
    def writable(self) -> Iterator[None]:
        """Opt out of default_transaction_read_only for the statements inside (actions)."""
        with self._lock:
            self.fetch("SET default_transaction_read_only = off")
            try:
                yield
            finally:
                if self.connected:
                    self.fetch("SET default_transaction_read_only = on")
