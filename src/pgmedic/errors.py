"""Errors a user can cause: one clear line, a hint, and an exit code.

Everything that reaches the command line as a failure is a :class:`PgmedicError`;
``cli.main`` prints ``pgmedic: <message>`` (and the hint) and exits with ``exit_code``.
Never a traceback for anything in this hierarchy.
"""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_FAILED = 1  # a check failed, over budget, delivery failed
EXIT_USAGE = 2  # bad input, connection errors


class PgmedicError(Exception):
    """An error with a message for humans. ``hint`` says what to do next."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        if not self.hint:
            return self.message
        hint = self.hint[:1].upper() + self.hint[1:]
        sep = " " if self.message.endswith((".", ":", "!", "?")) else ". "
        return f"{self.message}{sep}{hint}"


class ConnectError(PgmedicError):
    """The one connection could not be opened (or was lost)."""

    #: machine-readable reason: conninfo, unreachable, auth, database, full, privilege, lost
    reason: str = "connect"

    def __init__(self, message: str, hint: str | None = None, *, reason: str = "connect") -> None:
        super().__init__(message, hint)
        self.reason = reason


class ServerFullError(ConnectError):
    """SQLSTATE 53300 at connect: no slot for this role."""

    def __init__(self, message: str, hint: str | None = None, *, limit: str = "server") -> None:
        super().__init__(message, hint, reason="full")
        #: which limit: server (max_connections), reserved, role, database
        self.limit = limit


class QueryError(PgmedicError):
    """A query of pgmedic's own failed (timeout, privilege, lost connection)."""


class InputError(PgmedicError):
    """A file or flag the user gave is malformed (runbook, manifest, duration...)."""


_URI_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s]*@")
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with any password of a URI or a ``password=`` pair masked: an error may echo
    what the user typed (a URI given to -h, a malformed conninfo)."""
    return _KV_PASSWORD.sub(r"\1***", _URI_PASSWORD.sub(r"\1:***@", text))
