"""The audit log: one JSON line per backend a termination aimed at, appended, flushed.

Each line says when, who (the operator's OS user and database role), where (host:port/db,
never a password), which backend (pid, application, user, database, client, state, idle
age) and what happened (``result``: ``terminated``, or why it was left alone). The file
is ``paths.audit_log()``; ``ensure_ascii`` keeps terminal escapes of hostile application
names escaped when someone cats the log.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pgmedic import paths
from pgmedic.errors import PgmedicError
from pgmedic.triage.targets import Outcome


def os_user() -> str:
    """The operator's login name on this machine, or "unknown" in odd containers."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def lines_of(outcome: Outcome, operator: str) -> list[str]:
    preview = outcome.preview
    at = datetime.fromtimestamp(outcome.terminated_at, UTC).isoformat(timespec="milliseconds")
    out = []
    for r in outcome.results:
        t = r.target
        out.append(json.dumps({
            "time": at,
            "action": "terminate",
            "operator": {"os_user": operator, "role": preview.operator.role},
            "server": preview.server,
            "pid": t.pid,
            "backend_start": datetime.fromtimestamp(t.backend_start, UTC).isoformat(
                timespec="microseconds"),
            "application_name": t.application_name,
            "user": t.usename,
            "database": t.datname,
            "client": t.client,
            "state": t.state,
            "idle_seconds": round(t.idle_s, 3),
            "result": r.result,
            "detail": r.detail,
        }, ensure_ascii=True, sort_keys=False))
    return out


def append(outcome: Outcome, operator: str, path: Path | None = None) -> Path:
    """Append the outcome's lines to the audit log (one write, one fsync); return its path."""
    path = paths.ensure_parent(path or paths.audit_log())
    text = "".join(line + "\n" for line in lines_of(outcome, operator))
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise PgmedicError(f"could not append to the audit log {path}: {exc.strerror}",
                           "the termination happened; keep this output as its record") from None
    return path
