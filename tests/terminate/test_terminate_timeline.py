"""A termination from the shell lands on the incident timeline, so `pgmedic share` reports it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg

from pgmedic.report.summary import build_summary
from pgmedic.report.timeline import ACTION, NOTE
from pgmedic.store import TimelineStore
from pgtools import Sessions, count_backends, wait_until


def test_cli_termination_is_on_the_timeline_and_in_the_summary(
        dsn: str, app_dsn: str, sessions: Sessions, unique_app: Any,
        admin: psycopg.Connection[Any]) -> None:
    app = unique_app("shell-victim")
    sessions.many(3, app, "idle", dsn=app_dsn)
    existing = TimelineStore.new()
    existing.add(NOTE, "paged for TooManyConnectionsError")
    proc = subprocess.run([sys.executable, "-m", "pgmedic", "terminate", dsn, "--app", app,
                           "--yes", "--wait", "0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    wait_until(lambda: count_backends(admin, app) == 0, message="the sessions to end")
    store = TimelineStore.open(existing.path)  # the current incident, not a new one
    actions = store.timeline.of_kind(ACTION)
    assert len(actions) == 1
    assert actions[0].data["counts"]["terminated"] == 3
    assert actions[0].data["via"] == "pgmedic terminate"
    summary = build_summary(store.timeline, None)
    assert summary.to_dict()["actions"][0]["terminated"] == 3
