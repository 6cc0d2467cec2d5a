"""The budget calculator in a tiny host app: type a value, the verdict flips."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

from pgmedic.triage.budget import BudgetInputs, Limits
from pgmedic.triage.manifest import Headroom, ServiceSpec
from pgmedic.tui.widgets.budget import BudgetCalculator


class Host(App[None]):
    def __init__(self, inputs: BudgetInputs) -> None:
        super().__init__()
        self.inputs = inputs
        self.changes: list[BudgetCalculator.Changed] = []

    def compose(self) -> ComposeResult:
        yield BudgetCalculator(self.inputs, id="calc")

    def on_budget_calculator_changed(self, event: BudgetCalculator.Changed) -> None:
        self.changes.append(event)


def buggy() -> BudgetInputs:
    return BudgetInputs(Limits(100, headroom=Headroom(0)),
                        (ServiceSpec("worker", pool_max=10, pools_per_replica=8, replicas=2),))


async def set_value(pilot: Pilot[None], app: Host, selector: str, value: str) -> None:
    inp = app.query_one(selector, Input)
    inp.focus()
    inp.value = ""
    await pilot.press(*value)
    await pilot.pause()


def verdict_text(app: Host) -> str:
    return str(app.query_one("#budget-verdict", Static).render())


async def test_typing_one_shared_pool_flips_the_verdict() -> None:
    app = Host(buggy())
    async with app.run_test(size=(120, 30)) as pilot:
        calc = app.query_one(BudgetCalculator)
        assert calc.verdict == "over budget"
        assert "demand 160 >= capacity 100" in verdict_text(app)
        await set_value(pilot, app, "#budget-pools_per_replica-0", "1")
        assert calc.verdict == "fits"
        assert "demand 20 < capacity 100: fits, margin 80" in verdict_text(app)
        assert app.changes and app.changes[-1].budget.fits
        assert app.changes[-1].inputs.services[0].pools_per_replica == 1
        # headroom as a percentage and a surge take it back over
        await set_value(pilot, app, "#budget-headroom", "85%")
        assert calc.verdict == "over budget" and calc.budget.capacity == 15


async def test_invalid_value_keeps_last_result_and_says_why() -> None:
    app = Host(buggy())
    async with app.run_test(size=(120, 30)) as pilot:
        calc = app.query_one(BudgetCalculator)
        await set_value(pilot, app, "#budget-pool_max-0", "0")
        assert calc.error and "must be at least 1" in calc.error
        assert app.query_one("#budget-pool_max-0", Input).has_class("-invalid")
        assert "must be at least 1" in verdict_text(app)
        n = len(app.changes)
        await set_value(pilot, app, "#budget-pool_max-0", "5")
        assert calc.error is None and len(app.changes) > n
        assert calc.budget.demand == 80 and calc.verdict == "fits"
        await set_value(pilot, app, "#budget-surge-0", "50%")
        assert calc.budget.demand == 120 and calc.verdict == "over budget"
