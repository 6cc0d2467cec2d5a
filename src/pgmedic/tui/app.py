"""pgmedic's Textual app: the live view of the slots and the runbook beside it.

Keys (also in the footer, the help screen and the command palette):
q quit · ? help · r refresh now · s sort · enter backends of the selected group ·
k terminate the idle connections of the selected application · n / p next / previous step ·
d mark step done · x skip step · a add a note · f deploy the fix (demo only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from pgmedic.commands.common import settings_from_args
from pgmedic.errors import ConnectError, InputError, PgmedicError, redact
from pgmedic.render import age
from pgmedic.report.timeline import NOTE, OUTAGE, SNAPSHOT, STARTED, STEP
from pgmedic.runbook import Context, Runbook
from pgmedic.runbook_files import load_runbook
from pgmedic.store import TimelineStore
from pgmedic.triage.capacity import Saturation, saturation
from pgmedic.tui.flows import Evaluation, FlowsApp, evaluate
from pgmedic.tui.messages import RefreshFailed, SnapshotTaken
from pgmedic.tui.screens.backends import BackendsScreen
from pgmedic.tui.screens.help import HelpScreen
from pgmedic.tui.session import LiveSession, Refreshed
from pgmedic.tui.widgets.gauge import SaturationGauge, trend_text
from pgmedic.tui.widgets.groups import GroupsTable
from pgmedic.tui.widgets.runbook import RunbookPanel
from pgmedic.untrusted import printable, quote_ident

TREND_SAMPLES = 150
#: connect errors that end the TUI when it never got in: a typo'd host, password or database
#: is not worth retrying. A full server is retried (it frees up); so is a lost connection
#: once pgmedic was in (a restart, a network blip).
FATAL_AT_START = ("conninfo", "auth", "database", "unreachable")


class PgmedicApp(FlowsApp):
    CSS_PATH = "app.tcss"
    TITLE = "pgmedic"

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("r", "refresh", "Refresh", id="refresh", show=False),
        Binding("k", "terminate", "Terminate idle…", id="terminate"),
        Binding("f", "deploy_fix", "Deploy fix (demo)", id="deploy_fix", show=False),
    ]

    def __init__(
        self,
        session: LiveSession,
        *,
        refresh: float = 2.0,
        read_only: bool = False,
        timeline: TimelineStore | None = None,
        demo: Any = None,
        runbook: Runbook,
        context: Context | None = None,
    ) -> None:
        super().__init__()
        if demo is not None:
            self.bind("f", "deploy_fix", description="Deploy fix (demo)")
        self.runbook = runbook
        self.context = context or Context(interactive=True)
        self.last_snapshot = None
        self.evaluation = None
        self.session = session
        self.refresh_interval = max(0.2, refresh)
        self.read_only = read_only
        self.timeline = timeline
        self.demo = demo
        self.last: Refreshed | None = None
        self.last_ok_wall: float | None = None
        self.trend: deque[float] = deque(maxlen=TREND_SAMPLES)
        self.refreshes = 0
        self._outage_started: float | None = None
        self.fatal_error: str | None = None
        self._schedule_first = True

    # -- layout ----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("pgmedic · connecting…", id="status")
        yield SaturationGauge("", id="gauge")
        yield Static("", id="trend")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield GroupsTable(id="groups")
                yield Static("", id="notices")
                if self.demo is not None:
                    from pgmedic.tui.demo_panel import PagesLog

                    yield PagesLog(self.demo, id="pages")
            # the runbook panel is mounted right after the first frame (it pulls in Markdown)
            yield Vertical(id="runbook-slot")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(GroupsTable).focus()
        # the first data may already be here: paint it in the first frame
        try:
            first = self.session.take_prefetched(timeout=0)
        except PgmedicError as exc:
            self.post_message(RefreshFailed(exc, self.session.backoff()))
            first = None
            self._schedule_first = False
        if first is not None:
            # the table in the first frame; the runbook's verdicts from a refresh right after
            self._apply(first, None)
            self.call_after_refresh(self.refresh_data)
        elif self._schedule_first:
            self.refresh_data()
        self.call_after_refresh(self._mount_runbook)
        self.set_interval(1.0, self._tick_status)

    # -- refresh loop: one at a time, the next scheduled after the previous ends --------
    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def refresh_data(self) -> None:
        try:
            refreshed = self.session.refresh()
        except PgmedicError as exc:
            self.post_message(RefreshFailed(exc, self.session.backoff()))
            return
        evaluation = evaluate(self.runbook, refreshed.snapshot, self.context, self.session,
                              self._step_index)
        self.post_message(SnapshotTaken(refreshed, evaluation))

    def _schedule(self, delay: float) -> None:
        # never a zero-length timer (Textual divides by the interval)
        self.set_timer(max(0.05, delay), self.refresh_data)

    async def _mount_runbook(self) -> None:
        panel = RunbookPanel(self.runbook, id="runbook")
        if self.evaluation is not None:
            panel.results = self.evaluation.results
        if self.timeline is not None:  # --resume: the steps already done or skipped
            known = {s.id for s in self.runbook.steps}
            for event in self.timeline.timeline.of_kind(STEP):
                step_id, status = event.data.get("step_id"), event.data.get("status")
                if step_id in known and status in ("done", "skipped"):
                    panel.status[str(step_id)] = str(status)
        slot = self.query_one("#runbook-slot")
        if self.fatal_error is not None or not slot.is_mounted:
            return  # the app is already on its way out
        await slot.mount(panel)

    @property
    def _step_index(self) -> int:
        try:
            return self.query_one(RunbookPanel).index
        except Exception:  # noqa: BLE001 - before mount, or while shutting down
            return 0

    @on(SnapshotTaken)
    def _snapshot_taken(self, message: SnapshotTaken) -> None:
        if not self._view_ready():
            return  # a worker's result arriving while the app shuts down
        self._apply(message.refreshed, message.evaluation)
        self._schedule(self.refresh_interval)

    def _view_ready(self) -> bool:
        """The main view's widgets are there (not yet composed, or already torn down)."""
        return bool(self.query(SaturationGauge)) and bool(self.query("#status"))

    @on(RefreshFailed)
    def _refresh_failed(self, message: RefreshFailed) -> None:
        if not self._view_ready():
            return
        err = message.error
        if (self.last is None and isinstance(err, ConnectError)
                and err.reason in FATAL_AT_START):
            # nothing to retry: the user must fix the conninfo, password or database name
            self.fatal_error = err.one_line()
            self.exit(2, return_code=2)
            return
        lost = isinstance(err, ConnectError)
        if isinstance(err, ConnectError) and self._outage_started is None:
            self._outage_started = time.time()
            self._record(OUTAGE, f"connection lost: {err.message}", reason=err.reason)
        self._error = err.one_line()
        self._retry_at = time.monotonic() + (message.retry_in if lost else self.refresh_interval)
        self._render_status()
        self._schedule(message.retry_in if lost else self.refresh_interval)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """One place for every worker failure: a notification, never a crash."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            err = event.worker.error
            text = (err.one_line() if isinstance(err, PgmedicError)
                    else f"{type(err).__name__}: {err}")
            self.notify(text, severity="error", timeout=8)
            if event.worker.group == "refresh":
                self._schedule(self.refresh_interval)

    def _apply(self, refreshed: Refreshed, evaluation: Evaluation | None) -> None:
        first = self.last is None
        self.last = refreshed
        self.last_snapshot = refreshed.snapshot
        self.last_ok_wall = time.time()
        self.refreshes += 1
        self._error = ""
        snap = refreshed.snapshot
        sat = saturation(snap)
        if self._outage_started is not None:
            down = time.time() - self._outage_started
            self._outage_started = None
            self._record(OUTAGE, f"reconnected after {down:.0f}s", seconds=round(down, 1))
        if first:
            s = snap.server
            self._record(STARTED, f"pgmedic on PostgreSQL {s.version} at {s.host}:{s.port}/"
                         f"{s.database} as {s.user}", host=s.host, port=s.port,
                         database=s.database, user=s.user, operator=s.user, version=s.version,
                         os_user=_os_user())
            self._record(SNAPSHOT, f"{sat.used}/{sat.usable} usable slots in use",
                         **_saturation_data(sat))
        self.trend.append(float(sat.used))
        self.query_one(SaturationGauge).show(sat)
        self.query_one("#trend", Static).update(
            trend_text(list(self.trend), sat.usable, max(10, self.size.width - 60)))
        table = self.query_one(GroupsTable)
        if evaluation is not None:
            self.evaluation = evaluation
            table.highlight = set(evaluation.offender_apps)
            for panel in self.query(RunbookPanel):
                panel.show_results(evaluation.results)
            self.record_findings(evaluation)
        table.show(refreshed.groups)
        self._render_notices(refreshed, sat)
        self._render_status()

    # -- status and notices ------------------------------------------------------------
    _error = ""
    _retry_at = 0.0

    def _tick_status(self) -> None:
        if self._view_ready():
            self._render_status()

    def _render_status(self) -> None:
        line = Text()
        line.append("pgmedic ", style="bold")
        if self.last is not None:
            s = self.last.snapshot.server
            line.append(f"· PostgreSQL {s.version} · ")
            line.append(printable(f"{s.host}:{s.port}/{s.database} as {s.user}"))
        else:
            line.append("· " + printable(self.session.target))
        if self._error:
            stale = "" if self.last_ok_wall is None else (
                f" · data STALE {age(time.time() - self.last_ok_wall)}")
            retry = max(0.0, self._retry_at - time.monotonic())
            line.append(stale, style="bold yellow")
            line.append(f" · reconnecting in {retry:.0f}s: " if self._outage_started else " · ",
                        style="yellow")
            line.append(printable(self._error), style="red")
        elif self.last is not None and self.last_ok_wall is not None:
            line.append(f" · live · refreshed {age(time.time() - self.last_ok_wall)} ago "
                        f"({self.last.took * 1000:.0f} ms)", style="green")
        if self.read_only:
            line.append(" · read-only", style="cyan")
        self.query_one("#status", Static).update(line)

    def _render_notices(self, refreshed: Refreshed, sat: Saturation) -> None:
        snap = refreshed.snapshot
        out = Text()
        if sat.hidden:
            out.append(f"⚠ {sat.hidden} connections of other roles are hidden from "
                       f"{printable(snap.server.user)}: GRANT pg_monitor TO "
                       f"{printable(quote_ident(snap.server.user))};\n", style="yellow")
        if sat.superuser_sessions:
            out.append(f"⚠ {sat.superuser_sessions} client sessions run as superuser: they "
                       "can eat the reserved slots too.\n", style="yellow")
        for lim in snap.limits:
            if lim.current >= 0.8 * lim.limit:
                out.append(f"⚠ {lim.kind} {printable(lim.name)}: {lim.current} of its "
                           f"CONNECTION LIMIT {lim.limit}\n", style="yellow")
        if snap.other_backends:
            others = ", ".join(f"{n} {t}" for t, n in snap.other_backends.items())
            out.append(f"not client sessions (own slots): {others}", style="dim")
        self.query_one("#notices", Static).update(out)

    def _record(self, kind: str, title: str, **data: Any) -> None:
        if self.timeline is not None:
            try:
                self.timeline.add(kind, title, **data)
            except OSError as exc:
                self.notify(f"cannot write the incident timeline: {exc.strerror}",
                            severity="warning")

    # -- actions -----------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.refresh_data()

    def action_help(self) -> None:
        keys: list[tuple[str, str]] = []
        seen: set[str] = set()
        for binding in [*self.screen.active_bindings.values()]:
            b = binding.binding
            if b.key in seen or not b.id:  # only pgmedic's own keys, not cursor movement
                continue
            seen.add(b.key)
            keys.append((b.key_display or self.get_key_display(b), b.description or b.action))
        keys.append(("enter", "backends of the selected group (drill-down)"))
        keys.append(("escape", "back / close / cancel"))
        if not isinstance(self.screen, BackendsScreen):
            keys += [("", ""), ("in the drill-down:", ""),
                     ("k", "terminate the selected backend (if idle)…"),
                     ("K", "terminate every idle backend of the application…"),
                     ("r", "refresh the backends")]
        keys += [("", ""), ("in a confirmation:", ""),
                 ("tab", "from Cancel (focused first) to the count and Confirm"),
                 ("ctrl+s", "send (share preview)")]
        self.push_screen(HelpScreen(keys))

    @on(DataTable.RowSelected, "#groups")
    def _drill(self, event: DataTable.RowSelected) -> None:
        picked = self.query_one(GroupsTable).selected()
        if picked is not None:
            self.push_screen(BackendsScreen(self.session, picked[0], picked[1]))

    def refresh_now(self) -> None:
        self.refresh_data()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of pgmedic in the command palette (ctrl+p), beside Textual's own."""
        yield from super().get_system_commands(screen)
        table = self.query_one(GroupsTable)
        actions: list[tuple[str, str, Callable[[], Any]]] = [
            ("Refresh now", "take a new snapshot at once (r)", self.action_refresh),
            ("Sort the table", "count, application, state, oldest (s)",
             table.action_cycle_sort),
            ("Backends of the selected group", "drill down (enter)", self._drill_selected),
            ("Terminate idle sessions of the selected application",
             "preview, confirm, verify (k)", self.action_terminate),
            ("Next runbook step", "(n)", lambda: self.action_step(1)),
            ("Previous runbook step", "(p)", lambda: self.action_step(-1)),
            ("Mark step done", "(d)", lambda: self.action_mark("done")),
            ("Skip step", "(x)", lambda: self.action_mark("skipped")),
            ("Add a note", "to the incident timeline (a)", self.action_note),
            ("Run the step's action", "terminate, budget or share (g)", self.action_run_step),
            ("Share the incident summary", "preview, note, post to the webhook",
             self.action_share),
            ("Help", "every key (?)", self.action_help),
        ]
        if self.demo is not None:
            actions.append(("Deploy the fix (demo)", "checkout-api: one shared pool (f)",
                            self.action_deploy_fix))
        for title, help_text, callback in actions:
            yield SystemCommand(title, help_text, callback)

    def _drill_selected(self) -> None:
        picked = self.query_one(GroupsTable).selected()
        if picked is not None:
            self.push_screen(BackendsScreen(self.session, picked[0], picked[1]))

    def action_deploy_fix(self) -> None:
        if self.demo is None:
            self.notify("deploying the fix is a demo key: fix the service's code for real",
                        timeout=4)
            return
        self.notify("demo: rolling checkout-api to one shared pool per process…", timeout=4)
        self._deploy_fix()

    @work(thread=True, exclusive=True, group="demo", exit_on_error=False)
    def _deploy_fix(self) -> None:
        self.demo.deploy_fix()
        self.call_from_thread(self._record, NOTE, "demo: deployed the fix (one shared pool "
                              "per process in checkout-api)", text="deployed the fix")
        self.call_from_thread(self.notify, "demo: fix deployed; watch the gauge drop", timeout=6)

    def on_unmount(self) -> None:
        self.session.close()


def _os_user() -> str:
    """Who is at the keyboard, for the timeline (the audit log records it too)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _saturation_data(sat: Saturation) -> dict[str, Any]:
    return {"used": sat.used, "usable": sat.usable, "max_connections": sat.max_connections,
            "superuser_reserved": sat.superuser_reserved, "reserved": sat.reserved,
            "free": sat.free_ordinary, "level": sat.level}


def make_app(conninfo: str, args: argparse.Namespace | None = None, *, demo: Any = None,
             session: LiveSession | None = None, prefetch: bool = True) -> PgmedicApp:
    """The app as the CLI, the demo and the tests build it."""
    if session is None:
        session = LiveSession(conninfo, settings_from_args(args))
        if prefetch:
            session.prefetch()
    refresh = float(getattr(args, "refresh", 2.0) or 2.0)
    runbook = load_runbook(getattr(args, "runbook", None) or "pool-exhaustion")
    context = runbook_context(args)
    if demo is not None and not getattr(args, "services", None):
        from pgmedic.runbook.checks_budget import context_with_manifest
        from pgmedic.tui.demo_panel import manifest_text

        context = context_with_manifest(context, manifest_text(demo), "demo services")
    resume = getattr(args, "resume", False)
    timeline = TimelineStore.latest() if resume else None
    if timeline is None:
        timeline = TimelineStore.new()
    app = PgmedicApp(session, refresh=refresh, read_only=bool(getattr(args, "read_only", False)),
                     timeline=timeline, demo=demo, runbook=runbook, context=context)
    app.webhook = webhook_from_args(args)
    app.share_format = getattr(args, "format", None)
    return app


def webhook_from_args(args: argparse.Namespace | None) -> tuple[str, str] | None:
    """--webhook, PGMEDIC_WEBHOOK_URL or the config file; a bad one is refused now, not at
    2 AM when the summary is ready."""
    if args is None:
        return None
    from pgmedic.notify.url import find_webhook

    return find_webhook(getattr(args, "webhook", None), getattr(args, "config", None))


def runbook_context(args: argparse.Namespace | None) -> Context:
    """--pool-max, PG_POOL_MAX_SIZE and the services manifest, as the checks want them."""
    from pgmedic.runbook import context_from

    context = context_from(os.environ, pool_max=getattr(args, "pool_max", None),
                           interactive=True)
    manifest = getattr(args, "services", None)
    if manifest:
        from pgmedic.runbook.checks_budget import context_with_manifest

        path = os.path.expanduser(str(manifest))
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise InputError(f"cannot read the services manifest {path}: {exc.strerror}") from None
        context = context_with_manifest(context, text, path)
    return context


def run_app(conninfo: str, args: argparse.Namespace | None = None, *, demo: Any = None,
            session: LiveSession | None = None) -> int:
    app = make_app(conninfo, args, demo=demo, session=session)
    # a wrong password or database name is known before the screen is even drawn
    try:
        app.session.peek_prefetch_error(FATAL_AT_START)
    except PgmedicError as exc:
        print(f"pgmedic: {redact(exc.one_line())}", file=sys.stderr)
        return exc.exit_code
    result = app.run()
    if app.fatal_error:
        print(f"pgmedic: {redact(app.fatal_error)}", file=sys.stderr)
        return 2
    return int(result or 0)
