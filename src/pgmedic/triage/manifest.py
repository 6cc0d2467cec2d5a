"""The services manifest: which services use the database, with which pools, at what scale.

Pure: :func:`parse_manifest` takes the file's *text* (the command reads the file) and
returns a :class:`Manifest` or raises :class:`~pgmedic.errors.InputError` with one line
that names the file, and the line and column where it can tell. Any text gives one or
the other, never another exception.

The format (TOML; every key but ``[services.NAME]`` is optional)::

    max_connections = 100          # else the live server's, or --max-connections
    superuser_reserved_connections = 3
    reserved_connections = 0       # PostgreSQL 16+
    headroom = 20                  # admin headroom: slots (20) or a share of max ("20%")
    reserve = 5                    # other clients: admin tools, migrations, cron jobs

    [services.checkout-api]
    pool_max = 10                  # default: PG_POOL_MAX_SIZE (passed in as default_pool_max)
    pools_per_replica = 8          # default 1: one shared pool per process
    replicas = 2                   # the autoscaler's maximum
    surge = 0.25                   # default 0: extra replicas during a rolling deploy ("25%")
    pattern = "checkout-api*"      # application_name glob for observed values (default: NAME)
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from pgmedic.errors import InputError
from pgmedic.untrusted import printable

#: PostgreSQL's own upper bound for max_connections
MAX_CONNECTIONS_LIMIT = 262143
#: sanity bounds: a typo (10000000 replicas) is an error, not a number
POOL_MAX_LIMIT = 100_000
PPR_LIMIT = 10_000
REPLICAS_LIMIT = 100_000
SURGE_LIMIT = 1.0  # 100 %: a blue/green deploy doubles the replicas

TOP_KEYS = ("max_connections", "superuser_reserved_connections", "reserved_connections",
            "headroom", "reserve", "services")
SERVICE_KEYS = ("pool_max", "pools_per_replica", "replicas", "surge", "pattern")

#: spellings people reach for, mapped to ours (only used for the "did you mean" hint)
_SYNONYMS = {
    "pool_size": "pool_max", "max_pool_size": "pool_max", "max_size": "pool_max",
    "pool_max_size": "pool_max", "maxsize": "pool_max", "pool": "pool_max",
    "max_replicas": "replicas", "replica": "replicas", "instances": "replicas",
    "pools": "pools_per_replica", "pools_per_process": "pools_per_replica",
    "rollout_surge": "surge", "max_surge": "surge", "application_name": "pattern",
    "admin_headroom": "headroom", "superuser_reserved": "superuser_reserved_connections",
    "reserved": "reserved_connections", "service": "services",
}


@dataclass(frozen=True, slots=True)
class Headroom:
    """Admin headroom: ``amount`` slots, or ``amount`` percent of max_connections."""

    amount: float
    percent: bool = False

    def slots(self, max_connections: int) -> int:
        """The headroom in slots; a percentage is rounded *up* (the safe side)."""
        if not self.percent:
            return int(self.amount)
        return math.ceil(max_connections * self.amount / 100 - 1e-9)

    def __str__(self) -> str:
        if self.percent:
            return f"{self.amount:g}%"
        return str(int(self.amount))


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service as declared: its pools and its scale."""

    name: str
    pool_max: int
    pools_per_replica: int = 1
    replicas: int = 1
    surge: float = 0.0
    pattern: str | None = None  # application_name glob; None: the name itself

    @property
    def app_pattern(self) -> str:
        return self.pattern if self.pattern is not None else self.name


@dataclass(frozen=True, slots=True)
class Manifest:
    services: tuple[ServiceSpec, ...] = ()
    max_connections: int | None = None
    superuser_reserved_connections: int | None = None
    reserved_connections: int | None = None
    headroom: Headroom | None = None
    reserve: int | None = None
    source: str = "<manifest>"

    def service(self, name: str) -> ServiceSpec | None:
        for s in self.services:
            if s.name == name:
                return s
        return None


# -- single values, shared with the command line flags ------------------------------------

def parse_headroom(value: object, where: str = "headroom") -> Headroom:
    """``20`` -> 20 slots; ``"20%"`` (or ``"20"``) -> 20 % of max_connections."""
    if isinstance(value, bool):
        raise InputError(f"{where} must be a number of slots or a percentage, got {value!r}",
                         "e.g. 20 or \"20%\"")
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"{where} must not be negative, got {value}")
        if value > MAX_CONNECTIONS_LIMIT:
            raise InputError(f"{where} {value} is larger than any max_connections")
        return Headroom(value)
    if isinstance(value, str):
        text = value.strip()
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text)
        if not m:
            raise InputError(f"{where} must be a number of slots or a percentage, "
                             f"got {value!r}", "e.g. 20 or \"20%\"")
        amount = float(m.group(1))
        if m.group(2):
            if amount >= 100:
                raise InputError(f"{where} {text} leaves no slot: it must be below 100%")
            return Headroom(amount, percent=True)
        if amount != int(amount) or amount > MAX_CONNECTIONS_LIMIT:
            raise InputError(f"{where} must be a whole number of slots, got {value!r}")
        return Headroom(int(amount))
    raise InputError(f"{where} must be a number of slots or a percentage, "
                     f"got {_type_name(value)}", "e.g. 20 or \"20%\"")


def parse_surge(value: object, where: str = "surge") -> float:
    """``0.25`` or ``"25%"``: the share of extra replicas during a rolling deploy, 0..1."""
    if isinstance(value, bool):
        raise InputError(f"{where} must be a fraction such as 0.25 or \"25%\", got {value!r}")
    number: float
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", value)
        if not m:
            raise InputError(f"{where} must be a fraction such as 0.25 or \"25%\", "
                             f"got {value!r}")
        number = float(m.group(1)) / (100 if m.group(2) else 1)
    else:
        raise InputError(f"{where} must be a fraction such as 0.25 or \"25%\", "
                         f"got {_type_name(value)}")
    if not math.isfinite(number) or number < 0 or number > SURGE_LIMIT:
        raise InputError(f"{where} must be between 0 and 1 (0% to 100% extra replicas), "
                         f"got {value!r}")
    return number


def check_int(value: object, where: str, *, minimum: int, maximum: int) -> int:
    """An integer in [minimum, maximum], or an InputError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"{where} must be a whole number, got {_describe(value)}")
    if value < minimum:
        if minimum == 1:
            raise InputError(f"{where} must be at least 1, got {value}")
        raise InputError(f"{where} must not be negative, got {value}")
    if value > maximum:
        raise InputError(f"{where} {value} is out of range (at most {maximum})")
    return value


# -- the file -------------------------------------------------------------------------------

def parse_manifest(text: str, source: str = "<manifest>", *,
                   default_pool_max: int | None = None) -> Manifest:
    """Parse a manifest's text. ``source`` names it in errors (the file's path).

    ``default_pool_max`` stands in for a service without ``pool_max`` (the command passes
    ``PG_POOL_MAX_SIZE``); without either, that service is an error.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(_toml_error(exc, source)) from None
    except RecursionError:
        raise InputError(f"{source}: not a services manifest: nested too deeply") from None
    return _from_data(data, text, source, default_pool_max)


def _toml_error(exc: tomllib.TOMLDecodeError, source: str) -> str:
    # tomllib: "Invalid value (at line 3, column 12)"; "(at end of document)"
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", msg)
    if m:
        return f"{source}:{m.group(1)}:{m.group(2)}: invalid TOML: {msg[:m.start()]}"
    m = re.search(r"\s*\(at end of document\)\s*$", msg)
    if m:
        return f"{source}: invalid TOML at the end of the file: {msg[:m.start()]}"
    return f"{source}: invalid TOML: {msg}"


def _from_data(data: dict[str, Any], text: str, source: str,
               default_pool_max: int | None) -> Manifest:
    loc = _Locator(text, source)
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(f"{loc.key(None, key)}unknown key {_q(key)} at the top level"
                             f"{_did_you_mean(key, TOP_KEYS)}")

    def top_int(key: str, minimum: int) -> int | None:
        if key not in data:
            return None
        try:
            return check_int(data[key], key, minimum=minimum, maximum=MAX_CONNECTIONS_LIMIT)
        except InputError as exc:
            raise InputError(loc.key(None, key) + exc.message) from None

    max_connections = top_int("max_connections", 1)
    su_reserved = top_int("superuser_reserved_connections", 0)
    reserved = top_int("reserved_connections", 0)
    reserve = top_int("reserve", 0)
    headroom = None
    if "headroom" in data:
        try:
            headroom = parse_headroom(data["headroom"])
        except InputError as exc:
            raise InputError(loc.key(None, "headroom") + exc.message, exc.hint) from None

    services: list[ServiceSpec] = []
    raw_services = data.get("services", {})
    if not isinstance(raw_services, dict):
        raise InputError(f"{loc.key(None, 'services')}services must be a table of "
                         "[services.NAME] sections, got " + _type_name(raw_services))
    for name, body in raw_services.items():
        services.append(_service(name, body, loc, default_pool_max))
    return Manifest(
        services=tuple(services), max_connections=max_connections,
        superuser_reserved_connections=su_reserved, reserved_connections=reserved,
        headroom=headroom, reserve=reserve, source=source,
    )


def _service(name: str, body: object, loc: _Locator, default_pool_max: int | None,
             ) -> ServiceSpec:
    section = f"[services.{_section_name(name)}]"
    if not isinstance(body, dict):
        raise InputError(f"{loc.key('services', name)}services.{_section_name(name)} must be a "
                         f"table ({section} with pool_max, replicas...), got {_type_name(body)}")
    if not name.strip():
        raise InputError(f"{loc.section(name)}a service needs a name: {section}")
    for key in body:
        if key not in SERVICE_KEYS:
            raise InputError(f"{loc.key(name, key)}unknown key {_q(key)} in {section}"
                             f"{_did_you_mean(key, SERVICE_KEYS)}")

    def number(key: str, minimum: int, maximum: int) -> int | None:
        if key not in body:
            return None
        try:
            return check_int(body[key], f"{key} in {section}", minimum=minimum, maximum=maximum)
        except InputError as exc:
            raise InputError(loc.key(name, key) + exc.message) from None

    pool_max = number("pool_max", 1, POOL_MAX_LIMIT)
    if pool_max is None:
        if default_pool_max is None:
            raise InputError(f"{loc.section(name)}{section} has no pool_max",
                             "set pool_max, or PG_POOL_MAX_SIZE for every service without one")
        pool_max = default_pool_max
    ppr = number("pools_per_replica", 1, PPR_LIMIT)
    replicas = number("replicas", 1, REPLICAS_LIMIT)
    surge = 0.0
    if "surge" in body:
        try:
            surge = parse_surge(body["surge"], f"surge in {section}")
        except InputError as exc:
            raise InputError(loc.key(name, "surge") + exc.message) from None
    pattern = body.get("pattern")
    if pattern is not None and (not isinstance(pattern, str) or not pattern):
        raise InputError(f"{loc.key(name, 'pattern')}pattern in {section} must be a non-empty "
                         f"application_name glob, got {_describe(pattern)}")
    return ServiceSpec(name=name, pool_max=pool_max, pools_per_replica=ppr or 1,
                       replicas=replicas or 1, surge=surge, pattern=pattern)


class _Locator:
    """Best effort ``file:line: `` prefixes for errors tomllib cannot place (it keeps none)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def _header_line(self, name: str) -> int | None:
        pat = re.compile(r"^\s*\[\s*services\s*\.\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|"
                         r"(?P<bare>[A-Za-z0-9_-]+))\s*\]")
        for i, line in enumerate(self.lines):
            m = pat.match(line)
            if m and (m.group("dq") or m.group("sq") or m.group("bare")) == name:
                return i
        return None

    def section(self, name: str) -> str:
        i = self._header_line(name)
        return f"{self.source}:{i + 1}: " if i is not None else f"{self.source}: "

    def key(self, service: str | None, key: str) -> str:
        """Where ``key`` is set: at the top (service None) or in [services.SERVICE]."""
        start = 0
        if service is not None:
            h = self._header_line(service)
            if h is None:
                return f"{self.source}: "
            start = h + 1
        key_pat = re.compile(r"^\s*(?:\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"'|"
                             + re.escape(key) + r")\s*[=.]")
        for i in range(start, len(self.lines)):
            line = self.lines[i]
            if line.lstrip().startswith("["):
                break  # the next table: the key is not in this one
            if key_pat.match(line):
                return f"{self.source}:{i + 1}:{len(line) - len(line.lstrip()) + 1}: "
        return self.section(service) if service is not None else f"{self.source}: "


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    lowered = key.lower().replace("-", "_").strip()
    guess = _SYNONYMS.get(lowered)
    if guess is None or guess not in known:
        if lowered in known:
            guess = lowered
        else:
            close = difflib.get_close_matches(lowered, known, n=1, cutoff=0.5)
            guess = close[0] if close else None
    if guess is None:
        return f" (known keys: {', '.join(known)})"
    return f" (did you mean {_q(guess)}?)"


def _q(text: str) -> str:
    """A key quoted for a message, control characters made visible."""
    shown = printable(text)
    return f"'{shown[:60]}…'" if len(shown) > 60 else f"'{shown}'"


def _section_name(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return name
    return '"' + printable(name)[:60].replace('"', '\\"') + '"'


def _type_name(value: object) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string",
        list: "an array", dict: "a table",
    }.get(type(value), type(value).__name__)


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {_q(value)}"
    if isinstance(value, bool | int | float):
        return f"{_type_name(value)} {value!r}"
    return _type_name(value)
