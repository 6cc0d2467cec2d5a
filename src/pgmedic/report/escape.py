"""Escaping untrusted text (application, role and host names, query text) for each format.

Every escaper first makes control and bidi characters visible (:func:`pgmedic.untrusted.printable`:
an ESC arrives as the four characters ``\\x1b``, a newline as ``\\x0a``), so a name is always one
line and can never start a quote, heading or list. Then, per format:

- **Slack** (mrkdwn): ``&`` ``<`` ``>`` become ``&amp;`` ``&lt;`` ``&gt;`` (so ``<!channel>``,
  ``<!here>``, ``<@U123>`` and ``<http://x|label>`` links are inert). mrkdwn has no escape
  character, so ``*`` ``_`` ``~`` and the backtick are fenced by zero-width spaces (U+200B) on
  both sides: no longer adjacent to a word, they cannot open or close a span, and they still
  read as themselves. A zero-width space after ``@`` too (``@here`` with ``link_names``).
- **Mattermost** (Markdown, plus Slack's ``<!channel>`` translation): entities for ``&<>``,
  a backslash before every Markdown punctuation character, and a zero-width space after every
  ``@`` (``@channel``, ``@all``, ``@here`` and ``@user`` would notify).
- **Discord** (Markdown): a backslash before every Markdown punctuation character (``<@123>``
  becomes ``\\<@123\\>``: no mention pill), a zero-width space after ``@``; the payload also
  sends ``allowed_mentions: {"parse": []}``.
- **Teams** (Adaptive Card TextBlock Markdown, which honours no reliable escape): markup
  characters fenced by zero-width spaces as for Slack; Teams mentions need card entities, so
  plain ``@`` text never notifies, it gets a zero-width space anyway.
- **Markdown** (the postmortem report, GitHub-flavoured): backslash escapes, ``<`` ``>`` ``&``
  as entities (no raw HTML), a zero-width space after ``@`` (no GitHub mention on paste).

:func:`truncate` cuts escaped text to a limit without splitting an escape and appends a
visible marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pgmedic.untrusted import printable

ZWSP = "\u200b"
TRUNCATED = "… (truncated)"

#: Markdown (CommonMark/GFM/Discord) punctuation that may start or end markup
MD_PUNCT = "\\`*_{}[]()#+-.!|~>:"
_MD_RE = re.compile("[" + re.escape(MD_PUNCT) + "]")
#: Slack mrkdwn / Teams span characters, fenced by zero-width spaces
_FENCED = "*_~`"
_FENCED_TEAMS = "*_~`[]()#>|-"


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fence(text: str, chars: str) -> str:
    return "".join(f"{ZWSP}{c}{ZWSP}" if c in chars else c for c in text)


def _break_mentions(text: str) -> str:
    return text.replace("@", "@" + ZWSP)


def slack(text: str | None) -> str:
    """Untrusted text for Slack mrkdwn (and for Slack plain_text: it is harmless there)."""
    return _break_mentions(_fence(_entities(printable(text)), _FENCED))


def slack_plain(text: str | None) -> str:
    """Untrusted text for a Slack ``plain_text`` object (headers, fallback ``text``)."""
    return _entities(printable(text))


def mattermost(text: str | None) -> str:
    return _break_mentions(_MD_RE.sub(r"\\\g<0>", _entities(printable(text))))


def discord(text: str | None) -> str:
    escaped = _MD_RE.sub(r"\\\g<0>", printable(text))
    return _break_mentions(escaped.replace("<", "\\<"))


def teams(text: str | None) -> str:
    return _break_mentions(_fence(printable(text), _FENCED_TEAMS))


def markdown(text: str | None) -> str:
    return _break_mentions(_MD_RE.sub(r"\\\g<0>", _entities(printable(text))))


def plain(text: str | None) -> str:
    """No markup at all (JSON values): only control characters made visible."""
    return printable(text)


ESCAPERS: dict[str, Callable[[str | None], str]] = {
    "slack": slack, "mattermost": mattermost, "discord": discord, "teams": teams,
    "markdown": markdown, "json": plain,
}

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")


def truncate(text: str, limit: int, marker: str = TRUNCATED) -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``marker`` when cut.

    Never splits an ``&amp;``-style entity, a backslash escape, or a zero-width fence
    (a dangling escape could re-activate the character after it).
    """
    if len(text) <= limit:
        return text
    room = max(0, limit - len(marker) - 2)
    cut = text[:room]
    if text[room:room + 1] == ZWSP:
        cut += ZWSP  # the closing fence of a fenced character at the cut
    cut = _PARTIAL_ENTITY.sub("", cut)
    while cut.endswith("\\"):
        # an odd run of backslashes would escape what follows: drop them all
        cut = cut[:-1]
    out = (cut.rstrip() + " " + marker) if cut.replace(ZWSP, "").strip() else marker
    return out if len(out) <= limit else marker[:limit]
