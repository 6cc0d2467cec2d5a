"""What the engineer does from the TUI besides looking: walk the runbook, terminate, note,
budget what-ifs, share, and (in the demo) deploy the fix.

:class:`FlowsApp` is the base of :class:`pgmedic.tui.app.PgmedicApp`; database and HTTP
work runs in thread workers, results come back with ``call_from_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel

from pgmedic.errors import PgmedicError
from pgmedic.model import Snapshot
from pgmedic.report.timeline import ACTION, FINDING, NOTE, SHARED, STEP
from pgmedic.runbook import CheckResult, Context, Runbook, SqlResult, analyse, run_check
from pgmedic.runbook.engine import record_result
from pgmedic.store import TimelineStore
from pgmedic.triage.targets import IDLE, TargetSpec, timeline_entry
from pgmedic.tui.screens.note import NoteScreen
from pgmedic.tui.session import LiveSession
from pgmedic.tui.widgets.groups import GroupsTable
from pgmedic.tui.widgets.runbook import RunbookPanel
from pgmedic.untrusted import printable

SKIP_WHY = {
    "superuser": "superuser sessions (pgmedic terminate --include-superusers, as a superuser)",
    "denied": "not yours to signal (GRANT pg_signal_backend)",
    "hidden": "hidden from you (GRANT pg_read_all_stats)",
}

#: states the terminate key may target when a group of that state is selected
TERMINABLE = ("idle", "idle in transaction", "idle in transaction (aborted)")


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The runbook's verdicts on one snapshot, computed in the refresh worker."""

    results: dict[str, CheckResult]
    offender_service: str | None
    offender_apps: frozenset[str]


def evaluate(runbook: Runbook, snapshot: Snapshot, context: Context, session: LiveSession,
             current_step: int) -> Evaluation:
    """Every step's check on ``snapshot`` (pure), the current SQL step's rows (one query)."""
    step = runbook.steps[current_step] if runbook.steps else None
    if step is not None and step.block is not None and step.block.kind == "sql" and step.block.sql:
        try:
            rows = session.conn.fetch(step.block.sql)
            cols = tuple(f"col{i}" for i in range(len(rows[0]))) if rows else ()
            got = SqlResult(columns=cols, rows=tuple(tuple(r) for r in rows))
        except PgmedicError as exc:
            got = SqlResult(columns=(), rows=(), error=exc.message)
        context = replace(context, sql_results={**context.sql_results, step.id: got})
    results = {s.id: run_check(s, snapshot, context) for s in runbook.steps}
    analysis = analyse(snapshot, context)
    offender = analysis.offender
    apps: frozenset[str] = frozenset()
    if offender is not None:
        for svc in analysis.services:
            if svc.name == offender.service:
                apps = frozenset(svc.applications)
    return Evaluation(results, offender.service if offender else None, apps)


class FlowsApp(App[int]):
    BINDINGS = [
        Binding("n", "step(1)", "Next step", id="next_step"),
        Binding("p", "step(-1)", "Prev step", id="prev_step", show=False),
        Binding("d", "mark('done')", "Done", id="step_done"),
        Binding("x", "mark('skipped')", "Skip", id="step_skip", show=False),
        Binding("a", "note", "Note", id="note"),
        Binding("g", "run_step", "Run step", id="run_step"),
    ]

    # provided by PgmedicApp
    session: LiveSession
    timeline: TimelineStore | None
    read_only: bool
    runbook: Runbook
    context: Context
    refresh_interval: float
    last_snapshot: Snapshot | None
    evaluation: Evaluation | None

    def _record(self, kind: str, title: str, **data: Any) -> None:
        raise NotImplementedError

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications carry application names: never markup, control characters shown."""
        safe = "\n".join(printable(line) for line in message.split("\n"))
        super().notify(safe, title=title, severity=severity, timeout=timeout, markup=markup)

    @property
    def panel(self) -> RunbookPanel:
        return self.query_one(RunbookPanel)

    # -- runbook -----------------------------------------------------------------------
    _recorded: dict[str, str]

    def record_findings(self, evaluation: Evaluation) -> None:
        """Put a step's verdict on the timeline when it is new or changed (not every refresh)."""
        if not hasattr(self, "_recorded"):
            self._recorded = {}
        for step in self.runbook.steps:
            result = evaluation.results.get(step.id)
            if result is None or result.interactive:
                continue
            key = f"{result.verdict}|{result.summary}"
            if self._recorded.get(step.id) == key:
                continue
            if step.id in self._recorded and self._recorded[step.id].split("|")[0] == (
                    result.verdict):
                continue  # same verdict, numbers moved: not worth a new line
            self._recorded[step.id] = key
            if self.timeline is not None:
                try:
                    record_result(self.timeline, step, result, self.runbook.id)
                except OSError:
                    pass

    def action_step(self, delta: int) -> None:
        if not self.query(RunbookPanel):
            return  # mounted right after the first frame
        self.panel.go(delta)
        self.on_step_changed()

    def action_mark(self, how: str) -> None:
        if not self.query(RunbookPanel):
            return  # mounted right after the first frame
        step = self.panel.mark(how)
        self._record(STEP, f"step {step.title}: {how}", step_id=step.id, status=how)
        if how in ("done", "skipped") and self.panel.index < len(self.runbook.steps) - 1:
            self.action_step(1)

    def action_note(self) -> None:
        def saved(text: str | None) -> None:
            if text:
                self._record(NOTE, text, text=text)
                self.notify("note added to the incident timeline", timeout=3)
        self.push_screen(NoteScreen(), callback=saved)

    def action_run_step(self) -> None:
        if not self.query(RunbookPanel):
            return  # mounted right after the first frame
        check = self.panel.step.check
        if check == "terminate":
            self.terminate_offender()
        elif check == "share":
            self.action_share()
        elif check == "budget":
            self.focus_budget()
        else:
            self.notify("this step has nothing to run: read it, then d (done) or n (next)",
                        timeout=4)

    # -- budget (step 5): the calculator lives in the panel while the step is shown ----
    budget_findings: dict[str, Any] | None = None

    def on_step_changed(self) -> None:
        from pgmedic.tui.widgets.budget import BudgetCalculator

        panel = self.panel
        for old in panel.query(BudgetCalculator):
            old.remove()
        # the calculator needs room: the runbook side takes two thirds on that step
        for slot in self.query("#runbook-slot"):
            slot.set_class(panel.step.check == "budget", "-wide")
        if panel.step.check != "budget" or self.last_snapshot is None:
            return
        from pgmedic.runbook.checks_budget import budget_inputs

        params = panel.step.block.params if panel.step.block else {}
        try:
            inputs = budget_inputs(self.last_snapshot, self.context, params)
        except PgmedicError as exc:
            self.notify(exc.one_line(), severity="warning")
            return
        panel.mount(BudgetCalculator(inputs, id="budget"), after="#rb-result")

    def focus_budget(self) -> None:
        from pgmedic.tui.widgets.budget import BudgetCalculator

        for calc in self.panel.query(BudgetCalculator):
            inputs = calc.query("Input")
            if inputs:
                inputs.first().focus()
                return
        self.notify("the budget calculator needs a first snapshot", severity="warning")

    def on_budget_calculator_changed(self, event: Any) -> None:
        """A what-if: the verdict is on screen; the timeline gets it (one line per change of
        verdict, so typing a number does not flood it)."""
        from pgmedic.runbook.engine import budget_digest

        findings = event.budget.as_dict()
        digest = budget_digest(findings)
        previous = self.budget_findings
        self.budget_findings = digest
        if previous is None or previous.get("fits") != digest.get("fits"):
            step = self.panel.step
            verdict = "ok" if digest.get("fits") else "fail"
            self._record(FINDING, f"{step.title} (what-if): {verdict}", step_id=step.id,
                         step=step.id, check="budget", verdict=verdict,
                         summary=event.budget.sentence(), budget=digest, what_if=True)

    # -- share (step 6) ----------------------------------------------------------------
    webhook: tuple[str, str] | None = None  # (url, where it came from): never shown in full
    share_format: str | None = None  # --format; else recognised from the URL

    def action_share(self) -> None:
        if self.timeline is None:
            self.notify("no incident timeline to share", severity="warning")
            return
        from pgmedic.notify.webhook import mask_url
        from pgmedic.report.formats import detect_format
        from pgmedic.report.summary import build_summary
        from pgmedic.tui.screens.share import ShareScreen

        summary = build_summary(self.timeline.timeline, self.last_snapshot)
        url = self.webhook[0] if self.webhook else None
        fmt = self.share_format or (detect_format(url) if url else "slack")
        destination = mask_url(url) if url else None

        def send(note: str | None) -> None:
            if note is not None:
                self._share(replace(summary, note=note or None), fmt)
        self.push_screen(ShareScreen(summary, fmt, destination), callback=send)

    @work(thread=True, exclusive=True, group="share", exit_on_error=False)
    def _share(self, summary: Any, fmt: str) -> None:
        from pgmedic.commands.share import save
        from pgmedic.notify.webhook import DeliveryError, deliver, mask_url
        from pgmedic.report.formats import render

        saved = save(summary, None)
        if self.webhook is None:
            self.call_from_thread(self._record, SHARED, "summary saved (no webhook configured)",
                                  format=fmt, saved=str(saved))
            self.call_from_thread(self.notify, f"no webhook configured (--webhook, "
                                  f"PGMEDIC_WEBHOOK_URL or the config file): summary saved to "
                                  f"{saved}", severity="warning", timeout=10)
            return
        url = self.webhook[0]
        self.call_from_thread(self.notify, f"posting to {mask_url(url)}…", timeout=3)
        try:
            delivery = deliver(url, render(summary, fmt))
        except DeliveryError as exc:
            self.call_from_thread(self._record, SHARED, "summary not delivered", format=fmt,
                                  destination=mask_url(url), saved=str(saved), error=exc.message)
            self.call_from_thread(self.notify, f"{exc.one_line()}; the summary is kept in "
                                  f"{saved}", severity="error", timeout=15)
            return
        self.call_from_thread(self._record, SHARED, f"summary posted ({fmt})", format=fmt,
                              destination=delivery.destination, saved=str(saved),
                              status=delivery.status, attempts=delivery.attempts)
        self.call_from_thread(self.notify, f"posted to {delivery.destination}; saved to "
                              f"{saved}", timeout=8)

    # -- terminate ---------------------------------------------------------------------
    def action_terminate(self) -> None:
        """k: the idle sessions of the selected application (the group's state if idle-ish)."""
        picked = self.query_one(GroupsTable).selected()
        if picked is None:
            self.notify("select an application first", severity="warning")
            return
        app_name, state = picked
        states = (state,) if state in TERMINABLE else (IDLE,)
        self.start_termination(TargetSpec(applications=(app_name,), states=states))

    def terminate_offender(self) -> None:
        ev = self.evaluation
        if ev is None or ev.offender_service is None:
            self.notify("no offending service found yet: select an application and press k",
                        severity="warning")
            return
        params = self.panel.step.block.params if self.panel.step.block else {}
        idle_for = float(params.get("idle_older_than", 0) or 0)
        self.start_termination(TargetSpec(applications=tuple(sorted(ev.offender_apps)),
                                          states=(IDLE,), idle_for_s=idle_for))

    def start_termination(self, spec: TargetSpec) -> None:
        if self.read_only:
            self.notify("read-only: termination is disabled (started with --read-only)",
                        severity="warning")
            return
        self._preview(spec)

    @work(thread=True, exclusive=True, group="action", exit_on_error=False)
    def _preview(self, spec: TargetSpec) -> None:
        from pgmedic.pg.actions import preview

        got = preview(self.session.conn, spec)
        self.call_from_thread(self._confirm, got)

    def _confirm(self, got: Any) -> None:
        from pgmedic.tui.screens.terminate import TerminateConfirm

        if not got.targets:
            reasons: dict[str, int] = {}
            for s in got.skipped:
                reasons[s.reason] = reasons.get(s.reason, 0) + 1
            why = "; ".join(f"{n} skipped: {SKIP_WHY.get(r, r)}" for r, n in reasons.items())
            self.notify(f"nothing to terminate: no {got.spec.describe()}"
                        + (f" ({why})" if why else ""), timeout=8)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._terminate(got)
        self.push_screen(TerminateConfirm(got), callback=confirmed)

    @work(thread=True, exclusive=True, group="action", exit_on_error=False)
    def _terminate(self, got: Any) -> None:
        from pgmedic.pg.actions import terminate, verify

        outcome = terminate(self.session.conn, got, read_only=self.read_only)
        self.call_from_thread(self.notify, f"terminated {len(outcome.terminated)} backends; "
                              "checking the slots came back…", timeout=4)
        verification = verify(self.session.conn, outcome, wait_s=self.refresh_interval)
        self.call_from_thread(self._terminated, outcome, verification)

    def _terminated(self, outcome: Any, verification: Any) -> None:
        title, data = timeline_entry(outcome, verification)
        self._record(ACTION, title, **data)
        self.notify(f"{title}. {verification.advice}\naudit log: {outcome.audit_log}",
                    timeout=12)
        self.refresh_now()

    def refresh_now(self) -> None:
        """Hook: the app refreshes at once."""

    @on(GroupsTable.RowHighlighted)
    def _noop(self) -> None:
        """Row highlight needs no action; selection (enter) drills down."""
