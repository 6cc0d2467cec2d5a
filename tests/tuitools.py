"""Helpers for Pilot tests: app arguments and an in-loop poller."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any


def tui_args(**kw: Any) -> argparse.Namespace:
    base = {"refresh": 0.3, "connect_timeout": 5, "statement_timeout": 5000,
            "read_only": False, "resume": False, "pool_max": None, "services": None,
            "runbook": None}
    base.update(kw)
    return argparse.Namespace(**base)


async def until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition",
                ) -> Any:
    """Poll inside the app's event loop (the UI keeps running) until predicate() is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def runbook_panel(app: Any) -> Any:
    """The runbook panel, once mounted (it comes right after the first frame)."""
    from pgmedic.tui.widgets.runbook import RunbookPanel

    return await until(lambda: next(iter(app.query(RunbookPanel)), None),
                       what="the runbook panel")


def status_text(app: Any) -> str:
    """The TUI's status line as plain text."""
    return str(app.query_one("#status").render())


async def select_group(app: Any, application: str, state: str = "idle",
                       count: int | None = None) -> Any:
    """Wait for the group (application, state) [with ``count`` backends] in the table, focus
    the table and put the cursor on that row; returns the table."""
    from pgmedic.tui.widgets.groups import GroupsTable, row_key

    table = app.query_one(GroupsTable)
    await until(lambda: any(g.application_name == application and g.state == state
                            and (count is None or g.count == count) for g in table.groups),
                what=f"the group {application} ({state})")
    table.focus()
    table.move_cursor(row=table.get_row_index(row_key(application, state)))
    return table
