"""The budget calculator of runbook step 5: the napkin math, prefilled and editable in place.

Self-contained: it takes a :class:`~pgmedic.triage.budget.BudgetInputs` (server settings,
manifest, observed values; built by ``pgmedic.runbook.checks_budget.budget_inputs``) and
does no database work. Every edit recomputes the budget with the same pure math as
``pgmedic budget`` and posts :class:`BudgetCalculator.Changed` so the app can record it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from pgmedic.errors import InputError
from pgmedic.triage.budget import Budget, BudgetInputs, compute
from pgmedic.triage.manifest import (
    POOL_MAX_LIMIT,
    PPR_LIMIT,
    REPLICAS_LIMIT,
    ServiceSpec,
    check_int,
    parse_headroom,
    parse_surge,
)
from pgmedic.untrusted import printable

#: editable fields per service: (field, label, width)
FIELDS = (("pool_max", "pool_max", 10), ("pools_per_replica", "pools", 8),
          ("replicas", "replicas", 10), ("surge", "surge", 8))


class BudgetCalculator(Vertical):
    """Services x (pool_max, pools per replica, replicas, surge), headroom, live verdict."""

    DEFAULT_CSS = """
    BudgetCalculator { height: auto; }
    BudgetCalculator .budget-row { height: auto; margin-bottom: 1; }
    BudgetCalculator .budget-name { width: 24; padding: 0 1 0 0; }
    BudgetCalculator .budget-demand { width: 1fr; padding: 0 0 0 1; }
    BudgetCalculator .budget-head { height: 1; color: $text-muted; }
    BudgetCalculator Input.-invalid { border: tall $error; }
    BudgetCalculator #budget-verdict { padding: 0 1; height: auto; }
    BudgetCalculator #budget-verdict.-fits { color: $success; }
    BudgetCalculator #budget-verdict.-over { color: $error; }
    """

    class Changed(Message):
        """The inputs changed and the budget was recomputed (valid inputs only)."""

        def __init__(self, calculator: BudgetCalculator, inputs: BudgetInputs,
                     budget: Budget) -> None:
            super().__init__()
            self.calculator = calculator
            self.inputs = inputs
            self.budget = budget

        @property
        def control(self) -> BudgetCalculator:
            return self.calculator

    def __init__(self, inputs: BudgetInputs, *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(name=name, id=id, classes=classes)
        self.initial = inputs
        self.inputs = inputs
        self.budget: Budget = compute(inputs)
        self.error: str | None = None

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        lim = self.inputs.limits
        yield Static(self._limits_text(), id="budget-limits")
        yield Label(Text(f"{'service':<24}" + "".join(f"{label:<{w}}" for _, label, w in FIELDS)
                         + " demand"), classes="budget-head")
        for i, spec in enumerate(self.inputs.services):
            with Horizontal(classes="budget-row"):
                yield Label(Text(printable(spec.name)[:22] or "(unnamed)"),
                            classes="budget-name")
                for field_name, _, width in FIELDS:
                    value = getattr(spec, field_name)
                    shown = f"{value:g}" if isinstance(value, float) else str(value)
                    inp = Input(shown, id=f"budget-{field_name}-{i}", compact=True)
                    inp.styles.width = width
                    yield inp
                yield Label("", id=f"budget-demand-{i}", classes="budget-demand")
        with Horizontal(classes="budget-row"):
            yield Label("admin headroom", classes="budget-name")
            inp = Input(str(lim.headroom), id="budget-headroom", compact=True,
                        placeholder="N or N%")
            inp.styles.width = 10
            yield inp
        yield Static("", id="budget-verdict")

    def on_mount(self) -> None:
        self._show()

    # -- editing ------------------------------------------------------------------------------

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        event.stop()
        self.recalculate()

    def recalculate(self) -> Budget | None:
        """Read every field; on valid input recompute, show, post Changed."""
        try:
            inputs = self._read()
        except InputError as exc:
            self.error = exc.one_line()
            self._show()
            return None
        self.error = None
        self.inputs = inputs
        self.budget = compute(inputs)
        self._show()
        self.post_message(self.Changed(self, inputs, self.budget))
        return self.budget

    def _read(self) -> BudgetInputs:
        specs: list[ServiceSpec] = []
        bad: InputError | None = None
        for i, spec in enumerate(self.inputs.services):
            changes: dict[str, Any] = {}
            for field_name, _, _ in FIELDS:
                inp = self.query_one(f"#budget-{field_name}-{i}", Input)
                try:
                    changes[field_name] = self._parse(field_name, inp.value, spec.name)
                    inp.remove_class("-invalid")
                except InputError as exc:
                    inp.add_class("-invalid")
                    bad = bad or exc
            specs.append(replace(spec, **changes) if not bad else spec)
        head = self.query_one("#budget-headroom", Input)
        try:
            headroom = parse_headroom(head.value.strip() or "0", "headroom")
            if not headroom.percent and headroom.slots(0) >= self.inputs.limits.max_connections:
                raise InputError("headroom takes every slot")
            head.remove_class("-invalid")
        except InputError as exc:
            head.add_class("-invalid")
            bad = bad or exc
        if bad:
            raise bad
        return replace(self.inputs, services=tuple(specs),
                       limits=replace(self.inputs.limits, headroom=headroom))

    @staticmethod
    def _parse(field_name: str, raw: str, service: str) -> int | float:
        where = f"{field_name} of {printable(service)}"
        if field_name == "surge":
            return parse_surge(raw.strip() or "0", where)
        maximum = {"pool_max": POOL_MAX_LIMIT, "pools_per_replica": PPR_LIMIT,
                   "replicas": REPLICAS_LIMIT}[field_name]
        try:
            number = int(raw.strip())
        except ValueError:
            raise InputError(f"{where} must be a whole number, got {raw.strip()!r}") from None
        return check_int(number, where, minimum=1, maximum=maximum)

    # -- display ------------------------------------------------------------------------------

    def _limits_text(self) -> Text:
        lim = self.inputs.limits
        src = self.inputs.sources
        text = Text(f"capacity = max_connections {lim.max_connections}"
                    f" ({src.get('max_connections', '?')}) - superuser_reserved "
                    f"{lim.superuser_reserved} - reserved {lim.reserved} - headroom "
                    f"{lim.headroom_slots} - reserve {lim.reserve}")
        return text

    def _show(self) -> None:
        budget = self.budget
        for i, s in enumerate(budget.services):
            label = Text(f"{s.demand}  ({s.share:.0%})  fits at <= {s.max_pool_that_fits}")
            if s.observed is not None:
                label.append(f"  observed {s.observed.connections} from "
                             f"{s.observed.replicas}", style="yellow" if s.warnings else "dim")
            self.query_one(f"#budget-demand-{i}", Label).update(label)
        self.query_one("#budget-limits", Static).update(self._limits_text())
        verdict = self.query_one("#budget-verdict", Static)
        verdict.set_class(budget.fits and not self.error, "-fits")
        verdict.set_class(not budget.fits and not self.error, "-over")
        text = Text()
        if self.error:
            text.append(f"{self.error} (showing the last valid result)\n", style="bold red")
        text.append(budget.sentence(), style="bold")
        if not budget.fits and budget.recommendation:
            text.append(f"\n{printable(budget.recommendation)}")
        for w in budget.warnings:
            text.append(f"\n{printable(w)}", style="yellow")
        verdict.update(text)

    @property
    def verdict(self) -> str:
        """"fits" or "over budget" (the last valid result)."""
        return self.budget.verdict
