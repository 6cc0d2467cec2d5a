"""Text that other programs wrote (application_name, user and host names, query text).

It can hold terminal escape sequences, Rich markup, bidirectional overrides and control
characters. Before it reaches a terminal it goes through :func:`printable`: control and
bidi-override characters become visible escapes (``\\x1b``, ``\\u202e``), everything else
(wide characters, right-to-left letters) stays as it is. Rich/Textual callers then wrap it
in ``rich.text.Text`` (never parsed as markup) or use :func:`markup` when building markup.
Chat formats have their own escapes in ``report/``.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL, C1 controls; bidi embeddings/overrides/isolates; zero-width and BOM;
# line and paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | None, *, null: str = "") -> str:
    """``text`` with every control/bidi character made visible; safe for any terminal."""
    if text is None:
        return null
    if text.isprintable() and text.isascii():
        return text
    return _UNSAFE.sub(_escape_char, text)


def markup(text: str | None, *, null: str = "") -> str:
    """``printable(text)`` escaped for Rich/Textual console markup."""
    from rich.markup import escape

    return escape(printable(text, null=null))


def one_line(text: str | None, limit: int = 80) -> str:
    """Query text on one line: whitespace runs collapsed, cut with an ellipsis."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def cell_width(text: str) -> int:
    """Terminal columns taken by ``text`` (East Asian wide characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
