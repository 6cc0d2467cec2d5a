"""Runbook Markdown -> :class:`Runbook`. Pure: text in, objects out; errors name file:line.

The format (it reads as plain Markdown on any Git host)::

    ---
    id: pool-exhaustion
    title: PostgreSQL is out of connection slots
    summary: one line for listings
    ---
    Intro prose (Markdown).

    ## 1. Confirm it is slot exhaustion, not an outage
    Prose of the step (Markdown, rendered as is).

    ```pgmedic
    check: slots          # a built-in check by name (or `action: terminate`)
    id: confirm           # optional step id; else the heading, slugified
    warn_ratio: 0.8       # any other `key: value` is a parameter (int, float, true/false, text)
    ```

    ## Locks held the longest
    ```pgmedic
    sql: |
      SELECT pid, mode, granted FROM pg_locks
    limit: 20
    ```

Front matter: ``key: value`` lines between ``---`` fences; ``id`` and ``title`` required.
Each ``##`` heading (outside code fences) starts a step; at most one ``pgmedic`` block per
step; a step without one is read, not run. ``sql`` is one read-only statement (SELECT,
WITH, VALUES or TABLE), shown as a table; pgmedic runs it on its read-only session.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from pgmedic.errors import InputError
from pgmedic.runbook.model import Block, Param, Runbook, Step

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
_HEADING2 = re.compile(r"^ {0,3}##(?!#)\s+(?P<title>.+?)\s*#*\s*$")
_KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:\s?(?P<value>.*)$")
_NUMBERED = re.compile(r"^(?:step\s+)?\d+[.):]\s*", re.IGNORECASE)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_READ_ONLY_START = ("select", "with", "values", "table")


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class RunbookError(InputError):
    """A runbook that does not parse; ``problems`` has every file:line found."""

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0])
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}", "see `pgmedic runbook check PATH` for all problems")
        self.problems = problems


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", _NUMBERED.sub("", text).lower()).strip("-")
    return s or "step"


def _value(text: str) -> Param:
    v = text.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    low = v.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def _strip_comment(value: str) -> str:
    if value.lstrip()[:1] in ("'", '"'):
        return value
    return re.sub(r"\s+#.*$", "", value)


def check_sql(sql: str) -> str | None:
    """Why ``sql`` is not one read-only statement, or None."""
    text = re.sub(r"--[^\n]*", "", sql).strip().rstrip(";").strip()
    if not text:
        return "empty sql"
    first = text.split(None, 1)[0].lower()
    if first not in _READ_ONLY_START:
        return f"sql must be one read-only query (SELECT, WITH, VALUES or TABLE), not {first!r}"
    if ";" in text:
        return "sql must be a single statement (no ';' inside)"
    return None


def parse_block(lines: list[tuple[int, str]], source: str, start: int,
                known: Collection[str] | None) -> tuple[Block | None, str | None, list[Problem]]:
    """A ``pgmedic`` block's lines -> (Block, explicit step id, problems)."""
    problems: list[Problem] = []
    params: dict[str, Param] = {}
    kind = name = None
    sql: str | None = None
    step_id: str | None = None
    i = 0
    while i < len(lines):
        n, raw = lines[i]
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _KEY.match(raw)
        if not m or raw[:1].isspace():
            problems.append(Problem(source, n, f"expected `key: value`, got {raw.strip()!r}"))
            continue
        key, value = m["key"], _strip_comment(m["value"]).strip()
        if key in params or (key in ("check", "action") and kind) or (key == "sql" and sql):
            problems.append(Problem(source, n, f"duplicate key {key!r}"))
            continue
        if key == "sql":
            if value in ("|", ">", "|-", ""):
                body = []
                while i < len(lines) and (not lines[i][1].strip() or lines[i][1][:1].isspace()):
                    body.append(lines[i][1])
                    i += 1
                sql = "\n".join(ln.strip() for ln in body).strip()
            else:
                sql = value
            why = check_sql(sql)
            if why:
                problems.append(Problem(source, n, why))
        elif key in ("check", "action"):
            kind, name = key, value
            if not value:
                problems.append(Problem(source, n, f"`{key}:` needs a name"))
            elif known is not None and value not in known:
                names = ", ".join(sorted(known))
                problems.append(Problem(source, n, f"unknown {key} {value!r} (known: {names})"))
        elif key == "id":
            step_id = value
            if not _ID.match(value):
                problems.append(Problem(source, n, f"step id {value!r}: use a-z, 0-9 and '-'"))
        else:
            params[key] = _value(value)
    if sql is not None and kind:
        problems.append(Problem(source, start, "a block runs either `sql` or a check, not both"))
    if sql is None and not kind:
        problems.append(Problem(source, start,
                                "a pgmedic block needs `check: NAME`, `action: NAME` or `sql:`"))
        return None, step_id, problems
    if sql is not None:
        return Block("sql", "sql", params, sql, start), step_id, problems
    assert kind is not None and name is not None
    return Block(kind, name, params, None, start), step_id, problems


def _front_matter(lines: list[str], source: str,
                  problems: list[Problem]) -> tuple[dict[str, str], int]:
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None or lines[first].strip() != "---":
        problems.append(Problem(source, 1, "missing front matter (`---`, id:, title:, `---`)"))
        return {}, 0
    meta: dict[str, str] = {}
    for i in range(first + 1, len(lines)):
        raw = lines[i]
        if raw.strip() == "---":
            for key in ("id", "title"):
                if not meta.get(key):
                    problems.append(Problem(source, first + 1, f"front matter has no {key!r}"))
            if meta.get("id") and not _ID.match(meta["id"]):
                problems.append(Problem(source, first + 1,
                                        f"runbook id {meta['id']!r}: use a-z, 0-9 and '-'"))
            return meta, i + 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _KEY.match(raw)
        if not m:
            problems.append(Problem(source, i + 1, f"front matter: expected `key: value`, "
                                                   f"got {raw.strip()!r}"))
            continue
        meta[m["key"]] = _value(_strip_comment(m["value"])).__str__().strip()
    problems.append(Problem(source, first + 1, "front matter is not closed by `---`"))
    return meta, len(lines)


def parse_runbook(text: str, source: str = "<string>",
                  known: Collection[str] | None = None) -> Runbook:
    """Parse a runbook; ``known`` (check/action names) also rejects unknown names.

    Raises :class:`RunbookError` listing every problem with its ``source:line``.
    """
    problems: list[Problem] = []
    lines = text.splitlines()
    meta, body_start = _front_matter(lines, source, problems)

    intro: list[str] = []
    steps: list[Step] = []
    # the step being read: title, heading line, prose lines, block, explicit id
    cur: dict[str, object] | None = None
    prose: list[str] = intro
    fence: str | None = None
    fence_line = 0
    block_lines: list[tuple[int, str]] | None = None

    def finish() -> None:
        if cur is None:
            return
        title = str(cur["title"])
        block = cur.get("block")
        sid = cur.get("id") or slug(title)
        steps.append(Step(
            id=str(sid), title=_NUMBERED.sub("", title).strip() or title,
            prose="\n".join(cur["prose"]).strip("\n"),  # type: ignore[arg-type]
            block=block if isinstance(block, Block) else None, line=int(str(cur["line"])),
        ))

    for idx in range(body_start, len(lines)):
        n, raw = idx + 1, lines[idx]
        if fence is not None:
            m = _FENCE.match(raw)
            if m and m["fence"][0] == fence[0] and len(m["fence"]) >= len(fence) and not m["info"]:
                fence = None
                if block_lines is not None:
                    if cur is None:
                        problems.append(Problem(source, fence_line,
                                                "a pgmedic block before the first `##` step"))
                    else:
                        block, sid, found = parse_block(block_lines, source, fence_line, known)
                        problems.extend(found)
                        if cur.get("block") is not None:
                            problems.append(Problem(source, fence_line,
                                                    "a second pgmedic block in one step"))
                        else:
                            cur["block"] = block
                            if sid:
                                cur["id"] = sid
                    block_lines = None
                else:
                    prose.append(raw)
            elif block_lines is not None:
                block_lines.append((n, raw))
            else:
                prose.append(raw)
            continue
        m = _FENCE.match(raw)
        if m:
            fence, fence_line = m["fence"], n
            if m["info"].split()[:1] == ["pgmedic"]:
                block_lines = []
            else:
                prose.append(raw)
            continue
        h = _HEADING2.match(raw)
        if h:
            finish()
            cur = {"title": h["title"], "line": n, "prose": [], "block": None}
            prose = cur["prose"]  # type: ignore[assignment]
            continue
        prose.append(raw)
    if fence is not None:
        problems.append(Problem(source, fence_line, "code block is not closed"))
    finish()

    if not steps and not problems:
        problems.append(Problem(source, body_start + 1, "no steps (`## ` headings)"))
    seen: dict[str, int] = {}
    for st in steps:
        if st.id in seen:
            problems.append(Problem(source, st.line, f"duplicate step id {st.id!r} "
                                                     f"(first at line {seen[st.id]})"))
        seen.setdefault(st.id, st.line)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise RunbookError(problems)
    return Runbook(id=meta["id"], title=meta["title"], summary=meta.get("summary", ""),
                   intro="\n".join(intro).strip("\n"), steps=tuple(steps), source=source)
