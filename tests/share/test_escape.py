"""Escapers, fuzzed: for any input, no output holds an active mention or markup, and every
output reads back to the input (control characters made visible)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from share_incident import HOSTILE

from pgmedic.report import escape
from pgmedic.report.escape import ZWSP, truncate
from pgmedic.untrusted import printable

MD_SPECIAL = set(escape.MD_PUNCT) | {"<"}
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(HOSTILE)
dense = st.text(alphabet="<>&@!*_~`[]()#|\\-.:\x1b\n\u200b\u202e abcU123", max_size=60)
inputs = texts | dense


def no_controls(out: str) -> None:
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out)


def backslash_safe(out: str, special: set[str]) -> str:
    """Walk backslash escapes; fail on any special character left unescaped; return literal."""
    literal, i = [], 0
    while i < len(out):
        c = out[i]
        if c == "\\":
            assert i + 1 < len(out), "dangling backslash"
            literal.append(out[i + 1])
            i += 2
            continue
        assert c not in special, f"unescaped {c!r} in {out!r}"
        literal.append(c)
        i += 1
    return "".join(literal)


def fenced_safe(out: str, chars: str) -> None:
    for i, c in enumerate(out):
        if c in chars:
            assert i > 0 and out[i - 1] == ZWSP and i + 1 < len(out) and out[i + 1] == ZWSP, out


def mentions_broken(out: str) -> None:
    for i, c in enumerate(out):
        if c == "@":
            assert i + 1 < len(out) and out[i + 1] == ZWSP


def entities_only(out: str) -> None:
    assert "<" not in out and ">" not in out
    assert not re.search(r"&(?!amp;|lt;|gt;)", out)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_slack(text: str) -> None:
    out = escape.slack(text)
    no_controls(out)
    entities_only(out)
    fenced_safe(out, "*_~`")
    mentions_broken(out)
    assert html.unescape(out.replace(ZWSP, "")) == printable(text)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_discord(text: str) -> None:
    out = escape.discord(text)
    no_controls(out)
    mentions_broken(out)
    literal = backslash_safe(out, MD_SPECIAL)
    assert literal.replace(ZWSP, "") == printable(text)


@pytest.mark.parametrize("escaper", [escape.mattermost, escape.markdown])
@settings(max_examples=200, deadline=None)
@given(text=inputs)
def test_markdown_like(escaper: Callable[[str | None], str], text: str) -> None:
    out = escaper(text)
    no_controls(out)
    entities_only(out)
    mentions_broken(out)
    literal = backslash_safe(out, MD_SPECIAL)
    assert html.unescape(literal.replace(ZWSP, "")) == printable(text)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_teams(text: str) -> None:
    out = escape.teams(text)
    no_controls(out)
    fenced_safe(out, "*_~`[]()#>|-")
    mentions_broken(out)
    assert out.replace(ZWSP, "") == printable(text)


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(min_value=0, max_value=60))
def test_truncate_keeps_escapes_whole(text: str, limit: int) -> None:
    def slack_safe(out: str) -> None:
        entities_only(out)
        fenced_safe(out, "*_~`")

    checks: tuple[tuple[Callable[[str | None], str], Callable[[str], object]], ...] = (
        (escape.slack, slack_safe),
        (escape.discord, lambda o: backslash_safe(o, MD_SPECIAL)),
        (escape.teams, lambda o: fenced_safe(o, "*_~`[]()#>|-")),
    )
    for escaper, check in checks:
        out = truncate(escaper(text * 3), max(limit, len(escape.TRUNCATED)))
        assert len(out) <= max(limit, len(escape.TRUNCATED))
        check(out.replace(escape.TRUNCATED, ""))


def test_hostile_examples_arrive_literally() -> None:
    assert escape.slack("<!channel>") == "&lt;!channel&gt;"
    assert escape.discord("<@U123>") == "\\<@\u200bU123\\>"
    assert escape.mattermost("@channel") == "@\u200bchannel"
    assert escape.markdown("[bold]x[/bold]") == "\\[bold\\]x\\[/bold\\]"
    assert escape.slack("a\x1b[31m") == "a\\x1b[31m"
