"""The layers' rules for the share feature: report/ is pure, only notify/ imports httpx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pgmedic

SRC = Path(pgmedic.__file__).parent


def test_only_notify_imports_httpx() -> None:
    offenders = [p.relative_to(SRC) for p in SRC.rglob("*.py")
                 if "import httpx" in p.read_text(encoding="utf-8")
                 and p.relative_to(SRC).parts[0] != "notify"]
    assert offenders == []


def test_report_and_notify_load_without_textual_or_psycopg() -> None:
    code = ("import sys, pgmedic.report.formats, pgmedic.report.summary, pgmedic.notify; "
            "bad = [m for m in ('textual', 'psycopg') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
