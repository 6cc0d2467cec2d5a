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

# ASCII: C0 controls and DEL. Beyond ASCII, every character of the Unicode categories below:
# controls (C1), format characters (bidi marks, embeddings, overrides and isolates, the
# Arabic letter mark, zero-width characters, BOM, soft hyphen, invisible tag characters),
# lone surrogates (not even encodable) and the line/paragraph separators.
_ASCII_UNSAFE = re.compile("[\x00-\x1f\x7f]")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(c: str) -> str:
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape_char(m: re.Match[str]) -> str:
    return _escape(m.group())


def printable(text: str | None, *, null: str = "") -> str:
    """``text`` with every control/bidi/invisible character made visible; safe for any
    terminal."""
    if text is None:
        return null
    if text.isascii():
        return text if text.isprintable() else _ASCII_UNSAFE.sub(_escape_char, text)
    category = unicodedata.category
    return "".join(_escape(c) if category(c) in _UNSAFE_CATEGORIES else c for c in text)


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



def quote_ident(name: str) -> str:
    """A role or database name as SQL to copy and paste (``GRANT pg_monitor TO ...``):
    always double-quoted (a hyphen, upper case or a keyword such as ``user`` would otherwise
    break the statement or, for ``public``, grant to everyone), then made printable."""
    return printable('"' + name.replace('"', '""') + '"')
