"""The README's pictures cannot rot: scripts/screenshots.py runs here, as it would for real.

It starts the demo incident (its own embedded server), drives the TUI with Pilot and writes
SVGs; each must be a well-formed SVG showing what its name promises.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.pg

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "screenshots.py"
SVG_NS = "{http://www.w3.org/2000/svg}"

#: file -> text the picture must show (besides the status line every screen has)
EXPECTED = {
    "overview.svg": ["checkout-api", "offender", "Step 1/7", "usable", "TooManyConnections"],
    "step-1-confirm.svg": ["Step 1/7", "slot exhaustion", "FAIL"],
    "step-2-holders.svg": ["Step 2/7", "Who holds the slots", "checkout-api"],
    "step-3-pools.svg": ["Step 3/7", "Too many pools?", "checkout-api holds"],
    "step-4-relieve.svg": ["Step 4/7", "Relieve pressure", "press g"],
    "step-5-budget.svg": ["Step 5/7", "Budget math", "admin headroom"],
    "budget.svg": ["Step 5/7", "over budget"],
    "step-6-share.svg": ["Step 6/7", "Share"],
    "share-preview.svg": ["Share the incident summary", "checkout-api", "Send", "Cancel"],
    "step-7-follow-up.svg": ["Step 7/7", "Follow-up checklist"],
    "terminate-preview.svg": ["Terminate", "backends of checkout-api", "Cancel", "idle"],
    "help.svg": ["pgmedic — keys", "Next step", "Terminate idle", "Deploy fix"],
}


def screen_text(path: Path) -> str:
    """The characters on screen: Rich writes each styled run as a <text>, spaces as NBSP."""
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == f"{SVG_NS}svg", f"{path.name}: root is {root.tag}"
    runs = ["".join(el.itertext()) for el in root.iter(f"{SVG_NS}text")]
    return "".join(runs).replace("\xa0", " ")


def test_script_renders_every_screenshot(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--no-png"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(EXPECTED), written
    for name, needles in EXPECTED.items():
        text = screen_text(out / name)
        assert "pgmedic · PostgreSQL" in text, f"{name}: no status line"
        missing = [n for n in needles if n not in text]
        assert not missing, f"{name} does not show {missing}"
    # the preview was cancelled, never confirmed: nothing was terminated or posted
    assert "terminated" not in done.stdout + done.stderr
