"""Runbook files on disk: the bundled ones, the user's, an explicit path (the I/O edge).

Bundled runbooks ship in the wheel as ``pgmedic/_runbooks``; in an editable install they
are the repository's ``runbooks/``. A user's runbook with the same id overrides a bundled
one; an explicit path always wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pgmedic import paths
from pgmedic.errors import InputError
from pgmedic.runbook.model import Runbook
from pgmedic.runbook.parser import RunbookError, parse_runbook
from pgmedic.runbook.registry import known_names


def bundled_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "_runbooks"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "runbooks"  # editable install: <repo>/src/pgmedic -> <repo>


@dataclass(frozen=True, slots=True)
class Found:
    path: Path
    origin: str  # "bundled" or "user"
    runbook: Runbook | None  # None when it does not parse
    error: str | None = None


def read_runbook(path: Path) -> Runbook:
    """Parse one file; unknown check names are errors. Raises RunbookError / InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read runbook {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_runbook(text, str(path), known_names())


def discover() -> list[Found]:
    """Every runbook file in the bundled and the user's directories (user ones last)."""
    out: list[Found] = []
    for origin, folder in (("bundled", bundled_dir()), ("user", paths.user_runbooks_dir())):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md")):
            try:
                out.append(Found(path, origin, read_runbook(path)))
            except (RunbookError, InputError) as exc:
                out.append(Found(path, origin, None, exc.message))
    return out


def load_runbook(name_or_path: str | Path) -> Runbook:
    """A runbook by id (``pool-exhaustion``: user's first, then bundled) or by file path."""
    text = str(name_or_path)
    as_path = Path(text).expanduser()
    if isinstance(name_or_path, Path) or text.endswith(".md") or "/" in text:
        if not as_path.is_file():
            raise InputError(f"no runbook file {text}", "give a path to a .md file or a "
                                                        "runbook id (see `pgmedic runbook`)")
        return read_runbook(as_path)
    found = discover()
    for origin in ("user", "bundled"):
        for f in found:
            if f.origin == origin and f.runbook is not None and f.runbook.id == text:
                return f.runbook
    for f in found:
        if f.runbook is None and f.path.stem == text:
            raise InputError(f.error or f"runbook {text} does not parse")
    ids = ", ".join(sorted({f.runbook.id for f in found if f.runbook})) or "none"
    raise InputError(f"no runbook {text!r}", f"known: {ids}; or give a path to a .md file")
