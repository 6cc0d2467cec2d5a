"""Runbooks: Markdown files -> steps; a registry of pure checks; verdicts with numbers.

The API the TUI and the command line use::

    from pgmedic.runbook import parse_runbook, run_check, run_runbook, find_offender, Context
    from pgmedic.runbook_files import load_runbook, discover   # the file reading, at the edge
"""

from __future__ import annotations

from pgmedic.runbook.analysis import Analysis, analyse, find_offender
from pgmedic.runbook.engine import overall, record_result, run_check, run_runbook
from pgmedic.runbook.model import (
    FAIL,
    OK,
    UNKNOWN,
    VERDICTS,
    WARN,
    Block,
    CheckResult,
    Context,
    Runbook,
    SqlResult,
    Step,
    context_from,
)
from pgmedic.runbook.parser import Problem, RunbookError, parse_runbook
from pgmedic.runbook.registry import REGISTRY, known_names, register

__all__ = [
    "FAIL", "OK", "UNKNOWN", "VERDICTS", "WARN", "REGISTRY", "Analysis", "Block", "CheckResult",
    "Context", "Problem", "Runbook", "RunbookError", "SqlResult", "Step", "analyse",
    "context_from", "find_offender", "known_names", "overall", "parse_runbook", "record_result",
    "register", "run_check", "run_runbook",
]
