"""The CLI paths and the pure layers never import Textual (it costs ~0.3 s to load).

A correctness test, not a timed one: each import runs in a fresh interpreter and the test
asserts on ``sys.modules`` afterwards. The figures are in ``bench/``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import importlib, json, pkgutil, sys
names = []
for target in sys.argv[1:]:
    if target.endswith(".*"):
        pkg = importlib.import_module(target[:-2])
        names += [pkg.__name__] + [f"{pkg.__name__}.{m.name}"
                                   for m in pkgutil.walk_packages(pkg.__path__)]
    else:
        names.append(target)
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names,
                  "textual": sorted(m for m in sys.modules if m.split(".")[0] == "textual")}))
"""


def _probe(*targets: str) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *targets], capture_output=True,
                         text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("target", [
    "pgmedic.cli",
    "pgmedic.commands.snapshot",
    "pgmedic.triage.*",
    "pgmedic.report.*",
])
def test_no_textual_on_the_path(target: str) -> None:
    got = _probe(target)
    assert got["imported"], "nothing was imported"
    assert got["textual"] == [], f"{target} imports Textual: {got['textual'][:5]}"


def test_the_probe_would_notice_textual() -> None:
    """The probe itself works: importing the TUI does load Textual."""
    assert _probe("pgmedic.tui.app")["textual"]
