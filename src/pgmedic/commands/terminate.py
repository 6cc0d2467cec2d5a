"""Terminate idle connections of an application: previewed, exact, audited.

A dry run unless --yes: it lists every backend the filter selects (and the ones it
matched but will skip, with the reason), and terminates nothing. With --yes the same
preview is terminated in one statement, each target re-checked by pid and backend_start,
one audit line per target is appended, and the slots freed and reopened are reported.

The JSON schema (--json; new keys may be added, none removed):

    {
      "schema": 1, "dry_run": true, "server": "127.0.0.1:5432/app",
      "operator": {"role": "triage", "is_superuser": false, "can_signal": true},
      "filter": {"applications": [...], "services": [...], "states": ["idle"],
                 "idle_for_seconds": 30.0, "database": null, "user": null, "limit": null,
                 "include_superusers": false},
      "count": 12, "over_limit": 0,
      "targets": [{"pid": 4242, "application_name": "checkout-api", "user": "app",
                   "database": "app", "client": "10.0.0.7:51234", "state": "idle",
                   "idle_seconds": 312.5, "backend_start": 1764123247.118, "superuser": false}],
      "skipped": [{"pid": ..., "reason": "superuser" | "denied" | "hidden", "detail": "..."}],
      "results": [{"pid": 4242, "result": "terminated", "detail": "..."}],   # --yes only
      "verification": {"terminated": 12, "exited": 12, "client_before": 160,
                       "client_after": 148, "freed": 12, "waited_seconds": 1.0,
                       "reopened": {"checkout-api": 10}, "reopened_total": 10,
                       "client_after_wait": 158, "advice": "..."},             # --yes only
      "audit_log": "/home/ana/.local/state/pgmedic/audit.log"                 # --yes only
    }

Results: terminated, gone, changed (pid reused), renamed, busy (no longer idle long
enough), hidden, superuser, denied, own, failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pgmedic.commands.common import add_connection_arguments, connection_from_args
from pgmedic.errors import InputError, PgmedicError
from pgmedic.pg import actions
from pgmedic.render import age, app_label
from pgmedic.triage.targets import (
    TERMINATED,
    Outcome,
    Preview,
    TargetSpec,
    Verification,
    parse_duration,
    parse_state,
    skipped_dict,
    target_dict,
)
from pgmedic.untrusted import printable

EXAMPLES = """\
examples:
  pgmedic terminate postgresql://triage@db/app --app checkout-api --idle-for 30s
  pgmedic terminate --app checkout-api --idle-for 5m --limit 50 --yes
  pgmedic terminate --service checkout-api --state idle --state "idle in transaction" --yes
  pgmedic terminate --app reporting --json | jq '.targets[].pid'

A dry run unless --yes. Exit codes: 0 done (or previewed, or nothing to terminate),
2 bad input, --read-only, or no connection.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    f = parser.add_argument_group("which sessions (all must match)")
    f.add_argument("--app", action="append", default=[], metavar="NAME", dest="apps",
                   help="application_name, exactly (repeatable)")
    f.add_argument("--service", action="append", default=[], metavar="NAME", dest="services",
                   help="a service: its name and its replicas' names (checkout-api-7d9f8-x2x9q)")
    f.add_argument("--state", action="append", default=[], metavar="STATE", dest="states",
                   help="idle (default), 'idle in transaction', "
                        "'idle in transaction (aborted)' (repeatable)")
    f.add_argument("--idle-for", default="0", metavar="D",
                   help="idle for longer than D: 30s, 5m, 1h, or seconds (default 0)")
    f.add_argument("--database", dest="target_database", metavar="DB",
                   help="only sessions in this database (the connection's is -d)")
    f.add_argument("--user", dest="target_user", metavar="ROLE",
                   help="only sessions of this role (the connection's is -U)")
    f.add_argument("--limit", type=int, metavar="N", help="at most N, the longest idle first")
    f.add_argument("--include-superusers", action="store_true",
                   help="superuser sessions too (only when connected as a superuser)")
    parser.add_argument("--yes", action="store_true",
                        help="terminate the previewed sessions (without it: a dry run)")
    parser.add_argument("--wait", type=float, default=1.0, metavar="S",
                        help="seconds to wait before counting reopened connections (default 1)")
    parser.add_argument("--json", action="store_true", help="print JSON (schema above)")
    parser.add_argument("--read-only", action="store_true", default=None,
                        help="pgmedic changes nothing: termination is refused")


def spec_from_args(args: argparse.Namespace) -> TargetSpec:
    if args.wait < 0:
        raise InputError("--wait cannot be negative")
    states = tuple(dict.fromkeys(parse_state(s) for s in args.states)) or ("idle",)
    return TargetSpec(
        applications=tuple(args.apps), services=tuple(args.services), states=states,
        idle_for_s=parse_duration(args.idle_for), database=args.target_database,
        user=args.target_user, limit=args.limit, include_superusers=args.include_superusers,
    ).check()


def run(args: argparse.Namespace) -> int:
    if args.read_only:
        raise actions.ReadOnlyError()
    spec = spec_from_args(args)
    with connection_from_args(args) as conn:
        preview = actions.preview(conn, spec)
        outcome: Outcome | None = None
        verification: Verification | None = None
        if args.yes and preview.targets:
            outcome = actions.terminate(conn, preview)
            if outcome.terminated:
                verification = actions.verify(conn, outcome, wait_s=args.wait)
    if outcome is not None:
        record_on_timeline(outcome, verification)
    if args.json:
        json.dump(to_json(preview, outcome, verification, dry_run=not args.yes), sys.stdout,
                  indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_result(Console(), preview, outcome, verification, dry_run=not args.yes)
    return 0


#: a saved incident younger than this is the one a shell termination belongs to
INCIDENT_MAX_AGE_S = 12 * 3600


def record_on_timeline(outcome: Outcome, verification: Verification | None) -> None:
    """Put the termination on the current incident's timeline, so `pgmedic share` tells the
    team about it too (best effort: the termination already happened and is audited)."""
    import time

    from pgmedic.report.timeline import ACTION
    from pgmedic.store import TimelineStore
    from pgmedic.triage.targets import timeline_entry

    try:
        store = TimelineStore.latest()
        if store is None or time.time() - store.path.stat().st_mtime > INCIDENT_MAX_AGE_S:
            store = TimelineStore.new()
        title, data = timeline_entry(outcome, verification)
        store.add(ACTION, title, via="pgmedic terminate", **data)
    except (OSError, PgmedicError):
        pass


def to_json(preview: Preview, outcome: Outcome | None, verification: Verification | None,
            *, dry_run: bool) -> dict[str, Any]:
    op = preview.operator
    return {
        "schema": 1,
        "dry_run": dry_run,
        "server": preview.server,
        "operator": {"role": op.role, "is_superuser": op.is_superuser,
                     "can_signal": op.can_signal},
        "filter": preview.spec.as_dict(),
        "count": preview.count,
        "over_limit": preview.over_limit,
        "targets": [target_dict(t) for t in preview.targets],
        "skipped": [skipped_dict(s) for s in preview.skipped],
        "results": None if outcome is None else [
            {"pid": r.target.pid, "result": r.result, "detail": r.detail}
            for r in outcome.results],
        "verification": None if verification is None else verification.as_dict(),
        "audit_log": None if outcome is None else outcome.audit_log,
    }


def _cell(text: str | None) -> Text:
    return Text("-", style="dim") if text is None else Text(printable(text))


def targets_table(preview: Preview, results: dict[int, str] | None = None) -> Table:
    table = Table(header_style="bold", expand=False)
    for name in ("pid", "application", "user", "database", "client", "state", "idle"):
        table.add_column(name, justify="right" if name in ("pid", "idle") else "left")
    if results is not None:
        table.add_column("result")
    for t in preview.targets:
        row = [Text(str(t.pid)), app_label(t.application_name), _cell(t.usename),
               _cell(t.datname), _cell(t.client), Text(t.state), Text(age(t.idle_s))]
        if results is not None:
            res = results.get(t.pid, "")
            row.append(Text(res, style="green" if res == TERMINATED else "yellow"))
        table.add_row(*row)
    return table


def skipped_table(preview: Preview) -> Table:
    table = Table(header_style="bold", expand=False)
    for name in ("pid", "application", "user", "state", "reason"):
        table.add_column(name, justify="right" if name == "pid" else "left")
    for s in preview.skipped:
        table.add_row(Text(str(s.pid)), app_label(s.application_name), _cell(s.usename),
                      Text(s.state), Text(printable(s.detail)))
    return table


def print_result(console: Console, preview: Preview, outcome: Outcome | None,
                 verification: Verification | None, *, dry_run: bool) -> None:
    console.print(Text(f"{printable(preview.server)} as {printable(preview.operator.role)}: "
                       f"{printable(preview.spec.describe())}", style="bold"))
    if preview.targets:
        results = None if outcome is None else {r.target.pid: r.result for r in outcome.results}
        console.print(targets_table(preview, results))
    n = preview.count
    console.print(Text(f"{n} target{'s' if n != 1 else ''}"
                       + (f" ({preview.over_limit} more left out by --limit)"
                          if preview.over_limit else "")))
    if preview.skipped:
        console.print(Text(f"{len(preview.skipped)} matching sessions will not be touched:",
                           style="yellow"))
        console.print(skipped_table(preview))
    if not preview.targets:
        console.print(Text("nothing to terminate", style="bold"))
        return
    if dry_run or outcome is None:
        console.print(Text(f"dry run: nothing terminated. Run again with --yes to terminate "
                           f"these {n} backends (each re-checked by pid and backend_start).",
                           style="bold"))
        return
    counts = outcome.counts()
    done = counts.get(TERMINATED, 0)
    others = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != TERMINATED)
    console.print(Text(f"terminated {done} of {n}" + (f"; left alone: {others}" if others
                                                       else ""),
                       style="bold green" if done == n else "bold yellow"))
    if verification is not None:
        console.print(Text(verification.advice()))
    if outcome.audit_log:
        console.print(Text(f"audit log: {outcome.audit_log}", style="dim"))
