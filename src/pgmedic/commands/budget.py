"""The pool budget math as a pre-deploy check: exit 0 when it fits, 1 over budget, 2 bad input.

demand = sum over services of pool_max x pools_per_replica x (replicas + ceil(replicas x surge))
capacity = max_connections - superuser_reserved - reserved - headroom - reserve
It fits when demand < capacity. Values come from flags first, then the live server (when a
CONNINFO or -h/-p/-U/-d is given), then the manifest (--services FILE).

The JSON schema (stable; new keys may be added, none removed):

    {
      "schema": 1, "fits": true, "verdict": "fits", "demand": 50, "capacity": 80, "margin": 30,
      "limits": {"max_connections": 100, "superuser_reserved_connections": 0,
                 "reserved_connections": 0, "usable_connections": 100, "headroom": 20,
                 "headroom_input": "20", "reserve": 0,
                 "sources": {"max_connections": "flag", ...}},   # flag|server|manifest|assumed
      "services": [{"name": "app", "pool_max": 5, "pools_per_replica": 1, "replicas": 10,
                    "surge": 0.0, "surge_replicas": 0, "peak_replicas": 10, "per_replica": 5,
                    "demand": 50, "share": 1.0, "max_pool_that_fits": 7,
                    "shared_pool_that_fits": 7, "recommendation": null, "pattern": "app",
                    "observed": null, "warnings": []}],
      "recommendation": null, "warnings": [], "live": false
    }
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pgmedic.errors import EXIT_FAILED, EXIT_OK, InputError
from pgmedic.triage.budget import Budget, compute, inputs_from
from pgmedic.triage.manifest import (
    MAX_CONNECTIONS_LIMIT,
    POOL_MAX_LIMIT,
    PPR_LIMIT,
    REPLICAS_LIMIT,
    Manifest,
    ServiceSpec,
    check_int,
    parse_headroom,
    parse_manifest,
    parse_surge,
)

EXAMPLES = """\
examples:
  pgmedic budget --pool-max 5 --replicas 10 --max-connections 100 --headroom 20
  pgmedic budget --services services.toml --max-connections 100 --json
  pgmedic budget --services services.toml postgresql://triage@db.internal/app
  pgmedic budget --services services.toml --service checkout-api --pool-max 5   # what-if

exit codes: 0 fits, 1 over budget, 2 bad input or no connection
"""

#: the flags that describe one service
_SERVICE_FLAGS = ("pool_max", "pools_per_replica", "replicas", "surge")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pgmedic.commands.common import add_connection_arguments

    add_connection_arguments(parser)
    parser.add_argument("--services", metavar="FILE",
                        help="the services manifest (TOML; format in the README)")
    parser.add_argument("--json", action="store_true", help="print JSON (schema: --help)")
    svc = parser.add_argument_group("one service (with --services: changes that service)")
    svc.add_argument("--service", metavar="NAME",
                     help="the service the flags below describe (default: the manifest's only "
                          "service, or 'app')")
    svc.add_argument("--pool-max", metavar="N", help="pool_max (default PG_POOL_MAX_SIZE)")
    svc.add_argument("--pools-per-replica", metavar="N", help="pools per process (default 1)")
    svc.add_argument("--replicas", metavar="N", help="the autoscaler's maximum (default 1)")
    svc.add_argument("--surge", metavar="F|N%", help="extra replicas during a rollout, 0..1")
    lim = parser.add_argument_group("limits (override the server's and the manifest's)")
    lim.add_argument("--max-connections", metavar="N", help="max_connections")
    lim.add_argument("--superuser-reserved", metavar="N",
                     help="superuser_reserved_connections (offline default 0)")
    lim.add_argument("--reserved", metavar="N", help="reserved_connections (PG16+)")
    lim.add_argument("--headroom", metavar="N|N%",
                     help="admin headroom, slots or a percentage of max_connections")
    lim.add_argument("--reserve", metavar="N",
                     help="slots for other clients: admin tools, migrations, cron jobs")


def _int_flag(value: str | None, flag: str, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise InputError(f"{flag} must be a whole number, got {value!r}") from None
    return check_int(number, flag, minimum=minimum, maximum=maximum)


def _env_pool_max() -> int | None:
    raw = os.environ.get("PG_POOL_MAX_SIZE")
    if raw is None or not raw.strip():
        return None
    return _int_flag(raw, "PG_POOL_MAX_SIZE", 1, POOL_MAX_LIMIT)


def _read_manifest(path: str, default_pool_max: int | None) -> Manifest:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such services manifest") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a services manifest") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_manifest(text, path, default_pool_max=default_pool_max)


def services_from_args(args: argparse.Namespace, manifest: Manifest | None,
                       default_pool_max: int | None) -> tuple[ServiceSpec, ...]:
    """The manifest's services with the one-service flags applied (or one from flags)."""
    changes: dict[str, Any] = {}
    if args.pool_max is not None:
        changes["pool_max"] = _int_flag(args.pool_max, "--pool-max", 1, POOL_MAX_LIMIT)
    if args.pools_per_replica is not None:
        changes["pools_per_replica"] = _int_flag(args.pools_per_replica, "--pools-per-replica",
                                                 1, PPR_LIMIT)
    if args.replicas is not None:
        changes["replicas"] = _int_flag(args.replicas, "--replicas", 1, REPLICAS_LIMIT)
    if args.surge is not None:
        changes["surge"] = parse_surge(args.surge, "--surge")
    specs = list(manifest.services if manifest else ())
    name = args.service
    if name is None and not changes:
        if not specs:
            raise InputError("no services to budget",
                             "give --services FILE, or --pool-max N --replicas N")
        return tuple(specs)
    if name is None:
        if len(specs) > 1:
            raise InputError(f"{manifest.source if manifest else 'the manifest'} has "
                             f"{len(specs)} services: say which one the flags change",
                             "add --service NAME")
        name = specs[0].name if specs else "app"
    for i, spec in enumerate(specs):
        if spec.name == name:
            specs[i] = replace(spec, **changes)
            return tuple(specs)
    pool_max = changes.pop("pool_max", default_pool_max)
    if pool_max is None:
        raise InputError(f"service {name!r} has no pool_max",
                         "give --pool-max N (or set PG_POOL_MAX_SIZE)")
    specs.append(ServiceSpec(name=name, pool_max=pool_max, **changes))
    return tuple(specs)


def _wants_live(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("conninfo", "host", "port", "user", "dbname"))


def run(args: argparse.Namespace) -> int:
    default_pool_max = _env_pool_max()
    manifest = _read_manifest(args.services, default_pool_max) if args.services else None
    specs = services_from_args(args, manifest, default_pool_max)
    overrides: dict[str, Any] = {
        "max_connections": _int_flag(args.max_connections, "--max-connections", 1,
                                     MAX_CONNECTIONS_LIMIT),
        "superuser_reserved": _int_flag(args.superuser_reserved, "--superuser-reserved", 0,
                                        MAX_CONNECTIONS_LIMIT),
        "reserved": _int_flag(args.reserved, "--reserved", 0, MAX_CONNECTIONS_LIMIT),
        "headroom": None if args.headroom is None else parse_headroom(args.headroom,
                                                                      "--headroom"),
        "reserve": _int_flag(args.reserve, "--reserve", 0, MAX_CONNECTIONS_LIMIT),
    }
    snapshot = None
    if _wants_live(args):
        from pgmedic.commands.common import connection_from_args
        from pgmedic.pg.snapshot import collect

        with connection_from_args(args) as conn:
            snapshot = collect(conn)
    inputs = inputs_from(manifest, snapshot, services=specs, **overrides)
    budget = compute(inputs)
    warnings = list(budget.warnings)
    if snapshot is not None and manifest is not None and manifest.max_connections is not None \
            and manifest.max_connections != snapshot.server.max_connections:
        warnings.append(f"the manifest says max_connections {manifest.max_connections}, the "
                        f"server has {snapshot.server.max_connections} (the server's is used)")
    if args.json:
        doc = budget.as_dict()
        doc["warnings"] = warnings
        doc["live"] = snapshot is not None
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_budget(budget, warnings, live=snapshot is not None)
    return EXIT_OK if budget.fits else EXIT_FAILED


def print_budget(budget: Budget, warnings: list[str], *, live: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pgmedic.render import app_label

    console = Console()
    lim = budget.limits
    src = budget.sources
    table = Table(title="pool budget", header_style="bold", expand=False)
    for col, justify in (("service", "left"), ("pool_max", "right"), ("pools", "right"),
                         ("replicas", "right"), ("surge", "right"), ("demand", "right"),
                         ("share", "right"), ("fits at", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    if live:
        table.add_column("observed", justify="right")
    for s in budget.services:
        spec = s.spec
        row: list[Text | str] = [
            app_label(spec.name), str(spec.pool_max), str(spec.pools_per_replica),
            str(spec.replicas),
            f"+{s.surge_replicas} ({spec.surge:.0%})" if s.surge_replicas else "-",
            str(s.demand), f"{s.share:.0%}",
            Text(str(s.max_pool_that_fits),
                 style="green" if s.max_pool_that_fits >= spec.pool_max else "red"),
        ]
        if live:
            o = s.observed
            row.append(Text(f"{o.connections} from {o.replicas} (max {o.max_per_replica}/replica)"
                            if o else "none", style="yellow" if s.warnings else ""))
        table.add_row(*row)
    table.add_section()
    table.add_row(Text("demand", style="bold"), "", "", "", "", Text(str(budget.demand),
                                                                     style="bold"))
    console.print(table)
    parts = [
        f"max_connections {lim.max_connections} ({src.get('max_connections', '?')})",
        f"superuser_reserved {lim.superuser_reserved} "
        f"({src.get('superuser_reserved_connections', '?')})",
        f"reserved {lim.reserved} ({src.get('reserved_connections', '?')})",
        f"headroom {lim.headroom_slots}" + (f" ({lim.headroom})" if lim.headroom.percent else ""),
        f"reserve {lim.reserve}",
    ]
    console.print(Text(f"capacity {budget.capacity} = " + " - ".join(parts)))
    assumed = [k for k, v in src.items() if v == "assumed" and k != "reserve"]
    if assumed:
        console.print(Text("assumed 0 (not given): " + ", ".join(assumed) +
                           "; PostgreSQL's default superuser_reserved_connections is 3",
                           style="dim"))
    console.print(Text(budget.sentence(), style="bold green" if budget.fits else "bold red"))
    for s in budget.services:
        if s.recommendation and not budget.fits:
            console.print(Text("  ") + app_label(s.name) + Text(f": {s.recommendation}"))
    if budget.recommendation:
        console.print(Text(f"recommendation: {budget.recommendation}", style="bold"))
    for w in warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
