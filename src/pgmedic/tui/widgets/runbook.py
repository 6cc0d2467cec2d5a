"""The runbook panel: the current step's prose, its live verdict and the numbers behind it.

Keys (bound on the app so they work wherever the focus is): n / p next / previous step,
d mark done, x skip, a add a note, g run the step's action (terminate, budget, share).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from pgmedic.runbook import CheckResult, Runbook, Step
from pgmedic.untrusted import printable

VERDICT_STYLE = {"ok": "bold green", "warn": "bold yellow", "fail": "bold white on red",
                 "unknown": "bold grey70"}
MARK = {"done": "✓", "skipped": "–", "": " "}
ACTION_HINT = {
    "terminate": "press g to preview and terminate the offender's idle connections",
    "budget": "edit the values below (what-if); the verdict updates as you type",
    "share": "press g to preview the summary and post it to the webhook",
}


#: column headers short enough for the side panel, in the order shown
SHORT = {
    "service": "service", "application_name": "application", "connections": "conns",
    "idle": "idle", "replicas": "repl", "estimated_pools_per_replica": "pools/repl",
    "expected_pools_per_replica": "expected", "pool_max": "pool max", "share": "share",
    "idle_ratio": "idle %", "demand": "demand", "max_pool_that_fits": "fits ≤",
}


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v[:6]) + (" …" if len(v) > 6 else "")
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in list(v.items())[:4]) + "}"
    return str(v)


def result_text(step: Step, result: CheckResult | None) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column()
    if result is None:
        grid.add_row(Text("waiting for the first snapshot…", style="dim"))
        return grid
    line = Text()
    if step.check == "budget":
        line.append("as declared: ", style="dim")
    line.append(f" {result.verdict.upper()} ", style=VERDICT_STYLE.get(result.verdict, ""))
    line.append(" ")
    line.append(printable(result.summary))
    grid.add_row(line)
    hint = ACTION_HINT.get(step.check or "")
    if hint:
        grid.add_row(Text(hint, style="cyan"))
    if step.check == "budget":
        return grid  # the calculator below shows the numbers and the what-if verdict
    numbers = [(k, v) for k, v in result.findings.items()
               if v is not None and (not isinstance(v, (dict, list))
                                     or k in ("replicas", "per_replica"))]
    if numbers:
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="dim")
        facts.add_column()
        for k, v in numbers[:12]:
            facts.add_row(k.replace("_", " "), Text(printable(_value(v))))
        grid.add_row(facts)
    if result.rows:
        keys = list(result.rows[0].keys())
        preferred = [k for k in SHORT if k in keys]
        columns = (preferred or keys)[:6]
        rows = Table(show_edge=False, pad_edge=False, header_style="bold")
        for c in columns:
            rows.add_column(SHORT.get(c, c.replace("_", " ")), no_wrap=True,
                            overflow="ellipsis", max_width=24 if c == columns[0] else 10)
        for r in result.rows[:8]:
            rows.add_row(*(Text(printable(_value(r.get(c, "")))) for c in columns))
        if len(result.rows) > 8:
            rows.add_row(Text(f"… {len(result.rows) - 8} more", style="dim"))
        grid.add_row(rows)
    return grid


class RunbookPanel(VerticalScroll):
    DEFAULT_CSS = """
    RunbookPanel { border-left: tall $primary; padding: 0 1; }
    RunbookPanel #rb-title { text-style: bold; }
    RunbookPanel #rb-steps { color: $text-muted; }
    RunbookPanel #rb-step { text-style: bold; margin-top: 1; }
    RunbookPanel Markdown { margin: 0; padding: 0; }
    RunbookPanel #rb-result { margin-top: 1; }
    """

    def __init__(self, runbook: Runbook, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runbook = runbook
        self.index = 0
        self.status: dict[str, str] = {}  # step id -> done / skipped
        self.results: dict[str, CheckResult] = {}

    @property
    def step(self) -> Step:
        return self.runbook.steps[self.index]

    def compose(self) -> ComposeResult:
        yield Static(Text(printable(self.runbook.title)), id="rb-title")
        yield Static("", id="rb-steps")
        yield Static("", id="rb-step")
        yield Static("", id="rb-result")
        # plain text in the first frame; the Markdown widget (and markdown-it) after it
        yield Static(self.step.prose, id="rb-prose-plain", markup=False)

    def on_mount(self) -> None:
        self.render_step()
        self.call_after_refresh(self._upgrade_prose)

    async def _upgrade_prose(self) -> None:
        """Markdown replaces the plain text: mounted first, so a key pressed meanwhile always
        finds a prose widget to update (render_step updates both while both exist)."""
        from textual.widgets import Markdown

        plain = self.query("#rb-prose-plain")
        await self.mount(Markdown(self.step.prose, id="rb-prose-md"), after="#rb-result")
        await plain.remove()

    def go(self, delta: int) -> Step:
        self.index = max(0, min(len(self.runbook.steps) - 1, self.index + delta))
        self.render_step()
        return self.step

    def mark(self, how: str) -> Step:
        step = self.step
        self.status[step.id] = how
        self.render_progress()
        return step

    def render_progress(self) -> None:
        line = Text()
        for i, s in enumerate(self.runbook.steps):
            here = i == self.index
            verdict = self.results.get(s.id)
            style = "reverse" if here else (
                VERDICT_STYLE.get(verdict.verdict, "").replace("bold ", "") if verdict else "")
            line.append(f"{MARK[self.status.get(s.id, '')]}{i + 1}", style=style)
            line.append(" ")
        self.query_one("#rb-steps", Static).update(line)

    def render_step(self) -> None:
        step = self.step
        self.query_one("#rb-step", Static).update(
            Text(f"Step {self.index + 1}/{len(self.runbook.steps)}: {printable(step.title)}"))
        for plain in self.query("#rb-prose-plain").results(Static):
            plain.update(step.prose)
        for rich in self.query("#rb-prose-md"):
            rich.update(step.prose)  # type: ignore[attr-defined]
        self.render_result()

    def render_result(self) -> None:
        self.render_progress()
        self.query_one("#rb-result", Static).update(
            result_text(self.step, self.results.get(self.step.id)))

    def show_results(self, results: dict[str, CheckResult]) -> None:
        self.results = results
        self.render_result()
