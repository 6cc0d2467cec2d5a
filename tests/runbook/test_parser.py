"""The runbook format: good files parse, broken ones name file:line (pure)."""

from __future__ import annotations

import pytest

from pgmedic.runbook import RunbookError, known_names, parse_runbook
from pgmedic.runbook_files import bundled_dir, load_runbook

GOOD = """\
---
id: demo-book
title: A demo
summary: one line
---
Intro.

## 1. First step
Some prose.

```pgmedic
check: slots   # comment
warn_ratio: 0.75
strict: true
label: "quoted # text"
```

## Plain reading step
```sql
-- an ordinary code block: shown, not run
## not a heading
```

## Locks
```pgmedic
id: locks
sql: |
  SELECT pid, mode
  FROM pg_locks
limit: 5
```
"""


def test_good_file() -> None:
    rb = parse_runbook(GOOD, "demo.md", known_names())
    assert (rb.id, rb.title, rb.summary, rb.intro) == ("demo-book", "A demo", "one line",
                                                       "Intro.")
    assert [s.id for s in rb.steps] == ["first-step", "plain-reading-step", "locks"]
    first, plain, locks = rb.steps
    assert first.title == "First step" and first.check == "slots" and first.line == 8
    assert first.block is not None
    assert dict(first.block.params) == {"warn_ratio": 0.75, "strict": True,
                                        "label": "quoted # text"}
    assert "```pgmedic" not in first.prose and "Some prose." in first.prose
    assert plain.block is None and "## not a heading" in plain.prose
    assert locks.block is not None and locks.block.kind == "sql"
    assert locks.block.sql == "SELECT pid, mode\nFROM pg_locks" and locks.block.params == {
        "limit": 5}


@pytest.mark.parametrize(("text", "line", "message"), [
    ("no front matter\n## a\n", 1, "missing front matter"),
    ("---\ntitle: x\n---\n## a\n", 1, "no 'id'"),
    ("---\nid: x\ntitle: x\n## a\n", 1, "not closed"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\ncheck: nosuch\n```\n", 7, "unknown check"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\nsql: DELETE FROM t\n```\n", 7, "read-only"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\nsql: SELECT 1; SELECT 2\n```\n", 7,
     "single statement"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\nwarn: 1\n```\n", 6, "needs `check: NAME`"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\ncheck: slots\n", 6, "not closed"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\ncheck: slots\n```\n"
     "```pgmedic\ncheck: pools\n```\n", 9, "second pgmedic block"),
    ("---\nid: x\ntitle: x\n---\n## a\n## a\n", 6, "duplicate step id"),
    ("---\nid: x\ntitle: x\n---\n```pgmedic\ncheck: slots\n```\n## a\n", 5,
     "before the first"),
    ("---\nid: x\ntitle: x\n---\n## a\n```pgmedic\nthis is not a key\n```\n", 7,
     "expected `key: value`"),
    ("---\nid: x\ntitle: x\n---\nprose only\n", 5, "no steps"),
])
def test_broken_files_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RunbookError) as err:
        parse_runbook(text, "bad.md", known_names())
    assert any(p.line == line and message in p.message for p in err.value.problems), \
        err.value.problems
    assert str(err.value.problems[0]).startswith("bad.md:")


def test_every_problem_is_reported() -> None:
    text = "---\nid: x\ntitle: x\n---\n## a\n```pgmedic\ncheck: nope\n```\n## a\n"
    with pytest.raises(RunbookError) as err:
        parse_runbook(text, "two.md", known_names())
    assert [p.line for p in err.value.problems] == [7, 9]
    assert err.value.one_line().startswith("two.md:7: unknown check 'nope'")


def test_flagship_runbook() -> None:
    rb = load_runbook("pool-exhaustion")
    assert (bundled_dir() / "pool-exhaustion.md").is_file()
    assert [s.id for s in rb.steps] == ["confirm", "holders", "pools", "relieve", "budget",
                                        "share", "follow-up"]
    assert [s.check for s in rb.steps] == ["slots", "holders", "pools", "terminate", "budget",
                                           "share", "follow-up"]
    assert all(s.prose for s in rb.steps)


def test_load_by_path_and_user_dir_override(tmp_path: pytest.TempPathFactory) -> None:
    import os
    from pathlib import Path

    from pgmedic import paths

    user = paths.user_runbooks_dir()
    user.mkdir(parents=True)
    (user / "mine.md").write_text(GOOD.replace("demo-book", "pool-exhaustion"), "utf-8")
    assert load_runbook("pool-exhaustion").title == "A demo"  # the user's copy wins
    explicit = Path(os.fspath(user / "mine.md"))
    assert load_runbook(explicit).id == "pool-exhaustion"
