"""SQL lives in .sql files beside this module, loaded by name and server version.

``get("snapshot_settings", 160002)`` returns the text of the file with the highest
``_<major>`` suffix not above the server's major version, or the unsuffixed file.
Parameters are always bound (``%(name)s``), never formatted into the text.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_SUFFIX = re.compile(r"^(?P<name>.+?)(?:_(?P<major>\d{2}))?\.sql$")


@functools.cache
def _catalogue() -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for entry in resources.files(__package__).iterdir():
        m = _SUFFIX.match(entry.name)
        if not m:
            continue
        major = int(m["major"]) if m["major"] else 0
        found.setdefault(m["name"], {})[major] = entry.read_text(encoding="utf-8")
    return found


def get(name: str, version_num: int = 0) -> str:
    """The SQL text for ``name`` suited to a server of ``version_num`` (0: the default)."""
    variants = _catalogue()[name]
    major = version_num // 10000
    best = max((m for m in variants if m <= major), default=0)
    return variants[best]
