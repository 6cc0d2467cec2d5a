"""Bad input everywhere (issue 9, item 6): fuzz what was not fuzzed yet.

- the runbook parser: any text is a Runbook or a RunbookError/InputError, never another
  exception; every problem names the source and a line inside the text;
- ``untrusted.printable``: never raises, leaves nothing a terminal interprets, is literal
  for everything else, and its output can always be written as UTF-8;
- the command line on random argv, in-process: an int (or argparse's SystemExit with 0 or 2),
  never another exception, never the "internal error" catch-all, never a traceback.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pgmedic import cli
from pgmedic.demo.server import free_port
from pgmedic.errors import InputError
from pgmedic.runbook.model import Runbook
from pgmedic.runbook.parser import RunbookError, parse_runbook
from pgmedic.runbook.registry import known_names
from pgmedic.untrusted import markup, printable, quote_ident

# -- the runbook parser ----------------------------------------------------------------------

# lines that steer the parser into each of its branches, mixed with arbitrary text
RUNBOOK_LINES = st.one_of(
    st.sampled_from([
        "---", "id: x", "id: pool-exhaustion", "title: T", "title:", "summary: s", "id:",
        "bad front matter line", "## Step", "## 1. Step", "##", "## ", "### not a step",
        "```pgmedic", "```", "````", "~~~", "~~~pgmedic", "```sql", "check: slots",
        "check: no-such-check", "action: terminate", "action:", "id: Bad Id", "id: ok-id",
        "sql: |", "  SELECT 1", "sql: DELETE FROM t", "sql: SELECT 1", "limit: 20",
        "warn_ratio: 0.8", "x: true", "key", ": value", "   ```", "    ```", "", " ",
    ]),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(RUNBOOK_LINES, max_size=30), known=st.booleans(),
       newline=st.sampled_from(["\n", "\r\n", "\r"]))
@example(lines=["---", "id: x", "title: T", "---", "## A", "```pgmedic", "check: slots"],
         known=True, newline="\n")
def test_runbook_parser_never_raises_anything_else(lines: list[str], known: bool,
                                                   newline: str) -> None:
    text = newline.join(lines)
    try:
        rb = parse_runbook(text, "fuzz.md", known_names() if known else None)
    except RunbookError as exc:
        n_lines = max(1, len(text.splitlines()))
        for problem in exc.problems:
            assert problem.source == "fuzz.md"
            assert 1 <= problem.line <= n_lines + 1, (problem, n_lines)
        assert str(exc.message)
        return
    except InputError as exc:
        assert exc.message
        return
    assert isinstance(rb, Runbook)
    assert rb.id and rb.title and rb.steps


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_runbook_parser_on_any_text(text: str) -> None:
    try:
        parse_runbook(text, "any.md", known_names())
    except InputError:  # RunbookError is one
        pass


# -- untrusted.printable ---------------------------------------------------------------------

#: what a terminal may interpret or hide: controls, format characters (bidi, zero-width,
#: invisible tags), surrogates, line and paragraph separators
UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def unsafe(c: str) -> bool:
    return unicodedata.category(c) in UNSAFE


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None)))
@example("\x1b[2J\x1b]52;c;aGk=\x07[bold red]x[/]\u202e数据库\u061c\xad\U000e0041\ud800\x85")
def test_printable_leaves_nothing_a_terminal_interprets(text: str) -> None:
    out = printable(text)
    assert not any(unsafe(c) for c in out), ascii(out)
    out.encode("utf-8")  # no lone surrogate: it can always be written out
    if not any(unsafe(c) for c in text):
        assert out == text  # literal: wide, right-to-left and markup characters untouched
    else:
        assert len(out) > len(text)  # each unsafe character became a visible escape
    # markup() is for building markup: followed by a tag, it renders as printable() exactly
    from rich.text import Text

    assert Text.from_markup(markup(text) + "[dim]|[/dim]").plain == out + "|"


def test_printable_escapes_are_unambiguous() -> None:
    # an astral character must not read as a BMP escape followed by a digit
    assert printable("\U000e0041") == "\\U000e0041"
    assert printable("\u202e1") == "\\u202e1"
    assert printable("\x1b") == "\\x1b"
    assert printable(None, null="-") == "-"


@given(st.text())
def test_quote_ident_round_trips_as_sql(name: str) -> None:
    quoted = quote_ident(name)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    if not any(unsafe(c) for c in name):
        assert inner.replace('""', '"') == name


# -- the command line on random argv ---------------------------------------------------------

CLOSED_PORT = str(free_port())
FLAGS = st.sampled_from([
    "--json", "--help", "--yes", "--dry-run", "--read-only", "--include-superusers",
    "--include-queries", "-h", "-p", "-U", "-d", "--connect-timeout", "--statement-timeout",
    "--app", "--service", "--state", "--idle-for", "--limit", "--wait", "--services",
    "--format", "--note", "--output", "--incident", "--webhook", "--config", "--headroom",
    "--surge", "--pool-max", "--max-connections", "--", "-", "list", "check", "run",
    "pool-exhaustion", "--unknown",
])
VALUES = st.sampled_from([
    "0", "-1", "1", "2", "1.5", "nan", "inf", "1e309", "99999999999999999999", "30s", "5x",
    "idle", "idle in transaction (aborted)", "nope", "slack", "json", "teams",
    "127.0.0.1", "localhost", "", " ", "=", "host=", "host=a b c =", "postgresql://",
    "postgresql://u:Hunter2pw@127.0.0.1:" + CLOSED_PORT + "/db", "port=" + CLOSED_PORT,
    "host=127.0.0.1 password=Hunter2pw port=" + CLOSED_PORT, "password=Hunter2pw x",
    "/nonexistent/file.toml", "[bold]x[/]", "\x1b[2J", "数据库", "\u202e", "https://",
    "http://example.com/hook", "~", "../..", "%(x)s",
])
COMMANDS = st.sampled_from(["snapshot", "runbook", "terminate", "budget", "share"])


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """libpq defaults point at a closed loopback port: nothing random reaches a server."""
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", CLOSED_PORT)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    monkeypatch.setenv("PGUSER", "nobody")
    for name in ("PGSERVICE", "PGSERVICEFILE", "PGPASSFILE", "PGDATABASE", "PGHOSTADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=COMMANDS, rest=st.lists(st.one_of(FLAGS, VALUES), max_size=8))
@example(command="snapshot", rest=["--statement-timeout", "nan"])
@example(command="terminate", rest=["--app", "x", "--idle-for", "1e309"])
@example(command="budget", rest=["--services", "/nonexistent/file.toml"])
def test_cli_on_random_argv(offline_env: None, capsys: pytest.CaptureFixture[str],
                            command: str, rest: list[str]) -> None:
    # --yes only ever meets the closed port (offline_env); --webhook is never posted to:
    # share without --dry-run has no reachable server to build a summary from
    try:
        code = cli.main([command, *rest])
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code if isinstance(exc.code, int) else 2
        assert code in (0, 2), (command, rest, exc.code)
    assert isinstance(code, int)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert code != 70 and "internal error" not in err, (command, rest, err)
    if code != 0:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines and lines[-1].startswith("pgmedic"), (command, rest, err)
    assert "Hunter2pw" not in out + err  # a password in a conninfo is never echoed
