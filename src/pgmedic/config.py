"""The configuration file: defaults an operator sets once.

``<config dir>/config.toml`` (``pgmedic --config PATH`` picks another; ``PGMEDIC_CONFIG_DIR``
moves the directory). Precedence, highest first: command-line flags, environment variables
(``PG*`` for the connection, ``PGMEDIC_WEBHOOK_URL``, ``PG_POOL_MAX_SIZE``), this file,
built-in defaults. Example::

    conninfo = "service=prod-triage"   # unless CONNINFO, -h/-p/-U/-d, PGHOST, PGSERVICE...
    refresh = 2.0                      # seconds between TUI refreshes
    read_only = false                  # true: no termination anywhere
    headroom = "20%"                   # budget: admin headroom, absolute or a percentage
    services = "~/deploy/services.toml"  # the services manifest (budget, runbook)
    pool_max = 10                      # default pool maximum when the manifest has none
    webhook_url_env = "PGMEDIC_WEBHOOK_URL"  # the NAME of the variable holding the webhook URL
    connect_timeout = 5
    statement_timeout = 5000           # ms, each of pgmedic's own queries
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

from pgmedic import paths
from pgmedic.errors import InputError


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None  # the file read, None when there was none
    conninfo: str | None = None
    refresh: float | None = None
    read_only: bool | None = None
    headroom: str | None = None
    services: str | None = None
    pool_max: int | None = None
    webhook_url_env: str | None = None
    webhook_url: str | None = None
    connect_timeout: int | None = None
    statement_timeout: int | None = None

    def webhook(self) -> str | None:
        """The webhook URL this file points to (by variable name, or written in it)."""
        if self.webhook_url_env:
            value = os.environ.get(self.webhook_url_env)
            if value:
                return value
        return self.webhook_url


_TYPES: dict[str, tuple[type, ...]] = {
    "conninfo": (str,), "refresh": (int, float), "read_only": (bool,),
    "headroom": (int, str), "services": (str,), "pool_max": (int,),
    "webhook_url_env": (str,), "webhook_url": (str,), "connect_timeout": (int,),
    "statement_timeout": (int,),
}


def _line_of(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key):
            return n
    return 1


def parse_config(text: str, source: str) -> dict[str, Any]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{source}:{m[1]}:{m[2]}" if m else source
        msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise InputError(f"{where}: invalid TOML: {msg}") from None
    out: dict[str, Any] = {}
    for key, raw_value in raw.items():
        value: Any = raw_value
        if key not in _TYPES:
            close = difflib.get_close_matches(key, list(_TYPES), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"{source}:{_line_of(text, key)}: unknown setting '{key}'{hint}")
        types = _TYPES[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise InputError(f"{source}:{_line_of(text, key)}: '{key}' must be {wanted}")
        number = cast(float, value)
        if key in ("refresh", "pool_max", "connect_timeout", "statement_timeout") and number <= 0:
            raise InputError(f"{source}:{_line_of(text, key)}: '{key}' must be positive")
        out[key] = float(number) if key == "refresh" else (
            str(value) if key == "headroom" else value)
    return out


def load_config(path: str | Path | None = None) -> Config:
    """Read the config file. A missing default file is fine; a missing ``--config`` is not."""
    explicit = path is not None
    file = Path(path).expanduser() if path is not None else paths.config_file()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise InputError(f"config file not found: {file}") from None
        return Config()
    except OSError as exc:
        raise InputError(f"cannot read the config file {file}: {exc.strerror}") from None
    values = parse_config(text, str(file))
    return Config(path=file, **values)


CONNECTION_ENV = ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGDATABASE", "PGPORT", "PGUSER")


def apply_config(args: Any, config: Config) -> None:
    """Fill every argument the user did not give (None) from the config file."""
    for f in fields(Config):
        name = f.name
        if name in ("path", "conninfo", "webhook_url", "webhook_url_env"):
            continue
        value = getattr(config, name)
        if value is not None and hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, value)
    given = any(getattr(args, k, None) for k in ("conninfo", "host", "port", "user", "dbname"))
    from_env = any(os.environ.get(k) for k in CONNECTION_ENV)
    if config.conninfo and hasattr(args, "conninfo") and not given and not from_env:
        args.conninfo = config.conninfo
    args.config = config
