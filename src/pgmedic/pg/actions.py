"""The one action that changes the server: terminate idle backends, exactly, audited.

Three calls, each a blocking round trip or two (the TUI runs them in a worker thread):

    p = preview(conn, spec)                 # targets + skipped rows with reasons
    o = terminate(conn, p, operator="ana")  # one statement; per-pid results; audit lines
    v = verify(conn, o, wait_s=1.0)         # slots freed, connections reopened meanwhile

The termination re-checks every target by pid *and* backend_start (a reused pid is never
hit), its application, state and idle age, and the operator's privilege, in SQL, in the
same statement that signals them: nothing the preview did not list is ever touched.
"""

from __future__ import annotations

import time
from dataclasses import replace

from pgmedic import audit
from pgmedic.errors import PgmedicError
from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import server_info
from pgmedic.triage.targets import (
    RESULT_DETAIL,
    Candidate,
    Operator,
    Outcome,
    Preview,
    TargetResult,
    TargetSpec,
    Verification,
    build_preview,
)

READ_ONLY_HINT = "run pgmedic without --read-only to terminate"


class ReadOnlyError(PgmedicError):
    """Termination asked for while pgmedic runs read-only."""

    def __init__(self) -> None:
        super().__init__("termination is disabled: pgmedic runs with --read-only",
                         READ_ONLY_HINT)


def preview(conn: Connection, spec: TargetSpec) -> Preview:
    """The backends ``spec`` selects right now, and the matching ones that will be skipped."""
    spec.check()
    info, own_pid, now = server_info(conn)
    rows = conn.query("terminate_candidates", {
        "apps": list(spec.applications), "prefixes": list(spec.services),
        "database": spec.database, "user": spec.user,
    })
    operator = Operator(role=info.user, is_superuser=info.is_superuser,
                        can_signal=info.can_signal, own_pid=own_pid)
    return build_preview(spec, operator, [Candidate._make(r) for r in rows], now,
                         server=f"{conn.host}:{conn.port}/{info.database}")


def terminate(conn: Connection, preview: Preview, *, operator: str | None = None,
              read_only: bool = False, audit_log: bool = True) -> Outcome:
    """Terminate the previewed targets in one statement; append one audit line per target.

    ``operator`` is the OS user for the audit log (default: this process's login name).
    Targets that changed since the preview are left alone and say why in their result.
    """
    if read_only:
        raise ReadOnlyError()
    targets = preview.targets
    if not targets:
        return Outcome(preview=preview, results=(), terminated_at=preview.taken_at,
                       client_before=0)
    spec = preview.spec
    params = {
        "pids": [t.pid for t in targets],
        "starts": [t.backend_start for t in targets],
        "apps": [t.application_name for t in targets],
        "states": list(spec.states),
        "idle_for": float(spec.idle_for_s),
        "include_superusers": bool(spec.include_superusers),
    }
    # pg_terminate_backend is no write: it runs in pgmedic's read-only transactions.
    rows = conn.query("terminate", params)
    by_pid = {int(pid): str(result) for pid, result, _, _ in rows}
    client_before = int(rows[0][2]) if rows else 0
    at = float(rows[0][3]) if rows else preview.taken_at
    results = tuple(
        TargetResult(t, by_pid.get(t.pid, "failed"), RESULT_DETAIL[by_pid.get(t.pid, "failed")])
        for t in targets)
    outcome = Outcome(preview=preview, results=results, terminated_at=at,
                      client_before=client_before)
    if audit_log:
        path = audit.append(outcome, operator or audit.os_user())
        outcome = replace(outcome, audit_log=str(path))
    return outcome


def verify(conn: Connection, outcome: Outcome, wait_s: float = 1.0, *,
           exit_timeout_s: float = 5.0, poll_s: float = 0.02) -> Verification:
    """Wait until the terminated backends have exited (up to ``exit_timeout_s``), count the
    freed slots; then, after ``wait_s`` (the next refresh), count the connections the same
    applications reopened since the termination. ``wait_s=0`` skips the second part."""
    done = outcome.terminated
    params = {"pids": [t.pid for t in done], "starts": [t.backend_start for t in done]}
    deadline = time.monotonic() + exit_timeout_s
    while True:
        ((still, clients),) = conn.query("terminate_verify", params)
        if still == 0 or time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    reopened: dict[str, int] = {}
    after_wait: int | None = None
    if wait_s > 0:
        time.sleep(wait_s)
        apps = sorted({t.application_name for t in outcome.preview.targets})
        reopened = {str(app): int(n) for app, n in conn.query(
            "terminate_reopened", {"apps": apps, "since": outcome.terminated_at})}
        for app in apps:
            reopened.setdefault(app, 0)
        ((_, after_wait),) = conn.query("terminate_verify", {"pids": [], "starts": []})
    return Verification(terminated=len(done), exited=len(done) - int(still),
                        client_before=outcome.client_before, client_after=int(clients),
                        waited_s=wait_s, reopened=reopened, client_after_wait=after_wait)
