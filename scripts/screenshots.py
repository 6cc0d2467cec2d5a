#!/usr/bin/env python
"""Render the README's screenshots with the app itself, from the live demo incident.

    python scripts/screenshots.py [--out DIR]       # default: <repo>/screenshots

Starts the demo :class:`~pgmedic.demo.incident.Incident` (embedded PostgreSQL, the buggy
checkout-api exhausting the slots), builds the TUI exactly as ``pgmedic demo`` does
(``make_app(incident.operator_dsn, args, demo=incident)``), drives it with Textual's Pilot
at 160x45 and saves SVGs:

    overview.svg                 the live view, checkout-api's idle group selected
    step-1-confirm.svg ...       every runbook step (step-<n>-<step id>.svg)
    terminate-preview.svg        k on checkout-api: the confirmation (cancelled, nothing killed)
    budget.svg                   step 5, a what-if: checkout-api's 8 pools per replica
    share-preview.svg            g on step 6: the summary preview (cancelled, nothing posted)
    help.svg                     ? : every key

Waits are pollers on the app's state, never fixed sleeps. The numbers (ages, timings,
counts) are live, so they differ from run to run; the layout does not. The user's config,
timelines and webhook are never touched: pgmedic's directories point at a temporary one.
A PNG of the overview is written too when ``rsvg-convert`` (apt: librsvg2-bin) is on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SIZE = (160, 45)
OFFENDER = "checkout-api"


def app_args() -> argparse.Namespace:
    """What ``pgmedic demo`` passes to the app (the CLI's defaults, a quicker refresh)."""
    return argparse.Namespace(refresh=0.5, connect_timeout=5, statement_timeout=5000,
                              read_only=False, resume=False, pool_max=None, services=None,
                              runbook=None, webhook=None, format=None)


async def until(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll inside the app's event loop (the UI keeps running) until predicate() is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


def first_error(incident: Any) -> int | None:
    """The sequence number of the first error a service logged (53300, failed checks)."""
    return next((ev.seq for ev in incident.events_since(0) if ev.is_error), None)


async def drive(app: Any, incident: Any, out: Path) -> list[Path]:
    from textual.widgets import DataTable, Input, RichLog

    from pgmedic.tui.screens.help import HelpScreen
    from pgmedic.tui.screens.share import ShareScreen
    from pgmedic.tui.screens.terminate import TerminateConfirm
    from pgmedic.tui.widgets.budget import BudgetCalculator
    from pgmedic.tui.widgets.groups import GroupsTable, row_key
    from pgmedic.tui.widgets.runbook import RunbookPanel

    written: list[Path] = []

    async def shot(name: str) -> None:
        app.clear_notifications()
        for field in app.screen.query(Input):  # a steady cursor, not a blink phase
            field.cursor_blink = False
        await pilot.pause()
        app.save_screenshot(name, str(out))
        written.append(out / name)
        print(f"wrote {out / name}", flush=True)

    async def settled() -> None:
        """Two refreshes after now: every widget shows data taken after the last key."""
        seen = app.refreshes
        await until(lambda: app.refreshes >= seen + 2, "two refreshes")

    async def budget_what_if() -> None:
        """budget.svg: checkout-api really opens 8 pools per replica, not the declared 1."""
        calc = app.query_one(BudgetCalculator)
        row = [svc.name for svc in calc.inputs.services].index(OFFENDER)
        field = calc.query_one(f"#budget-pools_per_replica-{row}", Input)
        field.focus()
        field.value = str(incident.checkout.pools_per_replica)
        await until(lambda: not calc.budget.fits, "the what-if to overflow the budget")
        await shot("budget.svg")
        app.query_one(GroupsTable).focus()

    async with app.run_test(size=SIZE) as pilot:
        # the runbook panel comes right after the first frame, its Markdown prose after that
        panel = await until(lambda: next(iter(app.query(RunbookPanel)), None),
                            "the runbook panel")
        await until(lambda: panel.query("Markdown"), "the runbook's prose")
        table = app.query_one(GroupsTable)
        steps = panel.runbook.steps
        await until(lambda: app.evaluation is not None
                    and app.evaluation.offender_service == OFFENDER
                    and all(s.id in panel.results for s in steps),
                    "the runbook to name checkout-api")
        key = row_key(OFFENDER, "idle")
        await until(lambda: any(g.application_name == OFFENDER and g.state == "idle"
                                for g in table.groups), "checkout-api's idle group")
        pages = app.query_one("#pages", RichLog)
        error_seq = await until(lambda: first_error(incident), "the services' first error")
        await until(lambda: pages.seen >= error_seq, "the pages log to show it")
        await settled()
        table.focus()
        table.move_cursor(row=table.get_row_index(key), animate=False)
        await shot("overview.svg")

        for i, step in enumerate(steps):
            while panel.index < i:
                await pilot.press("n")
            if step.check == "budget":
                await until(lambda: app.query(BudgetCalculator), "the budget calculator")
            await settled()
            await shot(f"step-{i + 1}-{step.id}.svg")
            if step.check == "budget":
                await budget_what_if()
            if step.check == "share":
                await pilot.press("g")
                await until(lambda: isinstance(app.screen, ShareScreen), "the share preview")
                await shot("share-preview.svg")
                await pilot.press("escape")
                await until(lambda: not isinstance(app.screen, ShareScreen),
                            "the share preview to close")

        # back on the table: k on checkout-api's idle group previews exactly those backends
        await pilot.press("home")
        while panel.index > 0:
            await pilot.press("p")
        table.focus()
        table.move_cursor(row=table.get_row_index(key), animate=False)
        assert isinstance(app.focused, DataTable)
        await pilot.press("k")
        await until(lambda: isinstance(app.screen, TerminateConfirm), "the termination preview")
        await shot("terminate-preview.svg")
        await pilot.press("escape")  # never confirm
        await until(lambda: not isinstance(app.screen, TerminateConfirm),
                    "the termination preview to close")

        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await shot("help.svg")
        await pilot.press("escape")
    return written


def png(svg: Path) -> Path | None:
    """overview.png via rsvg-convert when it is installed; None otherwise."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    target = svg.with_suffix(".png")
    subprocess.run([tool, "--format=png", "--output", str(target), str(svg)], check=True,
                   timeout=60)
    print(f"wrote {target}", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots", metavar="DIR",
                        help="where to write the files (default: the repository's screenshots/)")
    parser.add_argument("--no-png", action="store_true", help="SVG only, even with rsvg-convert")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="pgmedic-screenshots-") as home:
        # never the user's config, timelines or webhook; the demo's own manifest for step 5
        os.environ["PGMEDIC_STATE_DIR"] = str(Path(home) / "state")
        os.environ["PGMEDIC_CONFIG_DIR"] = str(Path(home) / "config")
        for name in ("PGMEDIC_WEBHOOK_URL", "PG_POOL_MAX_SIZE"):
            os.environ.pop(name, None)

        from pgmedic.demo.incident import Incident
        from pgmedic.tui.app import make_app

        with Incident() as incident:
            if not incident.wait_saturated(timeout=60):
                print("screenshots: the demo never ran out of slots", file=sys.stderr)
                return 1
            app = make_app(incident.operator_dsn, app_args(), demo=incident)
            written = asyncio.run(drive(app, incident, out))
    if not args.no_png:
        overview = out / "overview.svg"
        if png(overview) is None:
            print("screenshots: rsvg-convert not found, SVG only", file=sys.stderr)
    print(f"screenshots: {len(written)} SVGs in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
