"""List, validate and run runbooks headless (for alert handlers and scripts).

    pgmedic runbook                         the runbooks found: id, title, where from
    pgmedic runbook check PATH              validate a file: exit 1 with file:line problems
    pgmedic runbook run NAME [CONNINFO]     one snapshot, every check, each verdict

``run --json`` prints (stable; keys may be added, none removed)::

    {"schema": 1, "runbook": "pool-exhaustion", "title": "...", "source": "...",
     "taken_at": "2026-11-26T02:14:07.118+00:00", "verdict": "fail",
     "steps": [{"id": "confirm", "title": "...", "check": "slots", "verdict": "fail",
                "summary": "...", "findings": {...}, "rows": [...]}, ...],
     "offender": {"service": "checkout-api", "connections": 160, "idle": 158,
                  "replicas": 2, "estimated_pools_per_replica": 8.0, "pool_max": 10,
                  "pool_max_source": "assumed", "sentence": "...", ...} | null}

Exit codes: 0 every check ok (warn and unknown included), 1 a check failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgmedic.errors import EXIT_FAILED, EXIT_OK, InputError
from pgmedic.runbook import (
    Context,
    Runbook,
    RunbookError,
    SqlResult,
    context_from,
    find_offender,
    overall,
    parse_runbook,
    record_result,
    run_runbook,
)
from pgmedic.runbook.model import Step

EXAMPLES = """\
examples:
  pgmedic runbook
  pgmedic runbook check ~/.config/pgmedic/runbooks/my-runbook.md
  pgmedic runbook run pool-exhaustion postgresql://triage@db.internal/app
  pgmedic runbook run pool-exhaustion --json --pool-max 10 | jq .offender
  PG_POOL_MAX_SIZE=5 pgmedic runbook run pool-exhaustion --services services.toml
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pgmedic.commands.common import add_connection_arguments

    sub = parser.add_subparsers(dest="action", metavar="{check,run}")
    check = sub.add_parser(
        "check", add_help=False, help="validate a runbook file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  pgmedic runbook check runbooks/pool-exhaustion.md\n"
               "  pgmedic runbook check ~/.config/pgmedic/runbooks/my-runbook.md\n"
               "exit codes: 0 valid, 1 problems (each as file:line: message), 2 bad input\n")
    check.add_argument("--help", action="help", help="show this help and exit")
    check.add_argument("path", metavar="PATH", help="the runbook's .md file")
    run_p = sub.add_parser(
        "run", add_help=False, help="run a runbook's checks headless",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  pgmedic runbook run pool-exhaustion postgresql://triage@db.internal/app\n"
               "  pgmedic runbook run pool-exhaustion --json --pool-max 10 | jq .offender\n"
               "  PG_POOL_MAX_SIZE=5 pgmedic runbook run pool-exhaustion --services s.toml\n"
               "exit codes: 0 no check failed, 1 a check failed, 2 bad input or no connection\n")
    run_p.add_argument("--help", action="help", help="show this help and exit")
    run_p.add_argument("name", metavar="NAME", help="a runbook id (see `pgmedic runbook`) "
                                                    "or a .md path")
    add_connection_arguments(run_p)
    run_p.add_argument("--json", action="store_true", help="print JSON (schema in --help)")
    run_p.add_argument("--pool-max", type=int, metavar="N",
                       help="the pool maximum per pool (default: $PG_POOL_MAX_SIZE, else "
                            "read from the connection bursts or assumed 10)")
    run_p.add_argument("--services", metavar="FILE",
                       help="services manifest (TOML) with each service's pool_max")
    run_p.add_argument("--replica-pattern", metavar="REGEX",
                       help="regex with a (?P<service>...) group collapsing application "
                            "names into services (tried before the Kubernetes patterns)")
    run_p.add_argument("--record", action="store_true",
                       help="also record every finding on a new incident timeline")


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        return check_file(Path(args.path))
    if args.action == "run":
        return run_headless(args)
    return list_runbooks()


def list_runbooks() -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from pgmedic.runbook_files import discover
    from pgmedic.untrusted import printable

    table = Table(header_style="bold")
    for col in ("id", "title", "source"):
        table.add_column(col)
    for f in discover():
        if f.runbook is None:
            table.add_row(Text("(broken)", style="red"), Text(printable(f.error)),
                          Text(f"{f.origin}: {printable(str(f.path))}"))
        else:
            table.add_row(Text(printable(f.runbook.id)), Text(printable(f.runbook.title)),
                          Text(f"{f.origin}: {printable(str(f.path))}"))
    Console().print(table)
    return EXIT_OK


def check_file(path: Path) -> int:
    from pgmedic.runbook import known_names
    from pgmedic.untrusted import printable

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read runbook {path}: {exc}") from None
    try:
        rb = parse_runbook(text, str(path), known_names())
    except RunbookError as exc:
        for problem in exc.problems:
            print(printable(str(problem)), file=sys.stderr)
        return EXIT_FAILED
    print(f"{printable(str(path))}: ok, runbook {printable(rb.id)} with {len(rb.steps)} steps")
    return EXIT_OK


def read_manifest(path: str) -> dict[str, int]:
    """service -> pool_max from a services manifest (TOML).

    Accepted: ``[services.NAME] pool_max = N`` (or ``pool_max_size``), ``[[services]]`` with
    ``name`` and ``pool_max``, or top-level ``NAME = N``.
    """
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read services manifest {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None

    def pool_of(entry: Any) -> int | None:
        if isinstance(entry, int) and not isinstance(entry, bool):
            return entry
        if isinstance(entry, dict):
            for key in ("pool_max", "pool_max_size", "max_size", "pool_size"):
                v = entry.get(key)
                if isinstance(v, int) and not isinstance(v, bool):
                    return v
        return None

    out: dict[str, int] = {}
    services = data.get("services", data)
    if isinstance(services, list):
        for entry in services:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                size = pool_of(entry)
                if size:
                    out[entry["name"]] = size
    elif isinstance(services, dict):
        for name, entry in services.items():
            size = pool_of(entry)
            if size:
                out[str(name)] = size
    return out


def _run_sql(conn: Any, rb: Runbook, limit: int = 50) -> dict[str, SqlResult]:
    from pgmedic.errors import QueryError

    out = {}
    for step in rb.steps:
        if step.block is None or step.block.kind != "sql" or not step.block.sql:
            continue
        cap = step.block.params.get("limit", limit)
        cap = cap if isinstance(cap, int) and not isinstance(cap, bool) else limit
        sql = (f"SELECT row_to_json(q)::text FROM ({step.block.sql.rstrip().rstrip(';')}\n) "
               f"AS q LIMIT {int(cap)}")
        try:
            rows = [json.loads(r[0]) for r in conn.fetch(sql)]
        except QueryError as exc:
            out[step.id] = SqlResult((), (), exc.message)
            continue
        cols = tuple(rows[0]) if rows else ()
        out[step.id] = SqlResult(cols, tuple(tuple(r.get(c) for c in cols) for r in rows))
    return out


def run_headless(args: argparse.Namespace) -> int:
    from pgmedic.commands.common import connection_from_args
    from pgmedic.pg.snapshot import collect
    from pgmedic.runbook_files import load_runbook

    rb = load_runbook(args.name)
    if args.pool_max is not None and args.pool_max <= 0:
        raise InputError(f"--pool-max must be a positive number, not {args.pool_max}")
    manifest = read_manifest(args.services) if args.services else {}
    if args.replica_pattern:
        from pgmedic.triage.services import compile_patterns

        try:
            compile_patterns(args.replica_pattern)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    with connection_from_args(args) as conn:
        snap = collect(conn)
        sql_results = _run_sql(conn, rb)
    context = context_from(os.environ, pool_max=args.pool_max, services=manifest,
                           replica_pattern=args.replica_pattern, sql_results=sql_results,
                           manifest_path=args.services)
    results = list(run_runbook(rb, snap, context))
    verdict = overall([r for _, r in results])
    if args.record:
        from pgmedic.store import TimelineStore

        store = TimelineStore.new(rb.id)
        for step, result in results:
            record_result(store, step, result, rb.id)
    if args.json:
        json.dump(to_json(rb, snap.taken_at, results, verdict, snap, context), sys.stdout,
                  indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        print_results(rb, results, verdict)
    return EXIT_FAILED if verdict == "fail" else EXIT_OK


def to_json(rb: Runbook, taken_at: float, results: list[tuple[Step, Any]], verdict: str,
            snap: Any, context: Context) -> dict[str, Any]:
    offender = find_offender(snap, context)
    steps = []
    for step, r in results:
        entry: dict[str, Any] = {"id": step.id, "title": step.title, "check": step.check,
                                 "verdict": r.verdict, "summary": r.summary,
                                 "findings": r.findings}
        if r.rows:
            entry["rows"] = list(r.rows)
        steps.append(entry)
    return {
        "schema": 1, "runbook": rb.id, "title": rb.title, "source": rb.source,
        "taken_at": datetime.fromtimestamp(taken_at, UTC).isoformat(timespec="milliseconds"),
        "verdict": verdict, "steps": steps,
        "offender": offender.as_dict() if offender else None,
    }


def print_results(rb: Runbook, results: list[tuple[Step, Any]], verdict: str) -> None:
    from rich.console import Console
    from rich.text import Text

    from pgmedic.render import LEVEL_STYLE
    from pgmedic.untrusted import printable

    console = Console()
    console.print(Text(printable(rb.title), style="bold"))
    for n, (step, r) in enumerate(results, 1):
        line = Text()
        line.append(f"{r.verdict.upper():<8}", style=LEVEL_STYLE.get(r.verdict, ""))
        line.append(f"{n}. {printable(step.title)}", style="bold")
        console.print(line)
        console.print(Text("        " + printable(r.summary)))
    console.print(Text(f"overall: {verdict}", style=LEVEL_STYLE.get(verdict, "")))
