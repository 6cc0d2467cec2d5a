"""The incident summary: saved as Markdown and JSON, then posted to a chat webhook.

The summary is built from the live server (one connection) and the latest saved incident
timeline (or ``--incident PATH``). Before anything is sent it is saved under the state
directory's ``reports/`` (or ``--output FILE``: FILE gets the Markdown, ``FILE.json`` beside
it the JSON), so a failed post loses nothing: the error names where it is kept.

The webhook URL comes from ``--webhook``, else ``PGMEDIC_WEBHOOK_URL``, else the config file's
``webhook_url_env = "NAME"`` (an environment variable holding it). It must be https (plain
http only to a loopback receiver) and is never printed in full: only ``https://host/…``.

Exit codes: 0 posted (or ``--dry-run``), 1 the post failed (the summary is kept), 2 bad
input (URL, format, flags) or no connection.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from pgmedic import paths
from pgmedic.commands.common import add_connection_arguments, connection_from_args
from pgmedic.errors import InputError
from pgmedic.model import Snapshot
from pgmedic.report.formats import FORMATS, detect_format, markdown, render
from pgmedic.report.summary import Summary, build_summary
from pgmedic.report.timeline import SHARED, Timeline
from pgmedic.store import TimelineStore

EXAMPLES = """\
examples:
  export PGMEDIC_WEBHOOK_URL=https://hooks.slack.com/services/...   # a secret: never printed
  pgmedic share postgresql://triage@db.internal/app --note "checkout-api rolled back"
  pgmedic share --dry-run --format discord          print the payload, send nothing
  pgmedic share --output postmortem/incident.md     also writes postmortem/incident.md.json

Formats: slack, mattermost, discord, teams (Workflows), json; recognised from the URL
unless --format says otherwise. Exit 0 posted or dry run, 1 the post failed (the summary
is kept on disk and the message says where), 2 bad input or no connection.
"""

DEFAULT_DRY_RUN_FORMAT = "slack"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument("--webhook", metavar="URL",
                        help="the incoming webhook (default: $PGMEDIC_WEBHOOK_URL, or "
                             "webhook_url_env in the config file)")
    parser.add_argument("--format", choices=FORMATS,
                        help="payload format (default: recognised from the URL)")
    parser.add_argument("--note", metavar="TEXT", help="a short note for the channel")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the payload and send nothing")
    parser.add_argument("--output", metavar="FILE", type=Path,
                        help="save the Markdown report as FILE and its JSON as FILE.json "
                             "(default: a new file in the state directory's reports/)")
    parser.add_argument("--include-queries", action="store_true",
                        help="include query text (left out by default: it may hold data)")
    parser.add_argument("--incident", metavar="PATH", type=Path,
                        help="the incident timeline (default: the latest one saved)")


def _webhook(args: argparse.Namespace) -> tuple[str, str] | None:
    """(URL, where it came from), checked; None when none is configured anywhere."""
    from pgmedic.notify.url import find_webhook

    return find_webhook(args.webhook, getattr(args, "config", None))


def _timeline(args: argparse.Namespace) -> tuple[Timeline, TimelineStore | None]:
    store = TimelineStore.open(args.incident) if args.incident else TimelineStore.latest()
    if store is None:
        print("pgmedic: no saved incident timeline: the summary holds the live state only",
              file=sys.stderr)
        return Timeline("live-" + time.strftime("%Y%m%dT%H%M%S", time.gmtime())), None
    return store.timeline, store


def _live(args: argparse.Namespace) -> Snapshot:
    from pgmedic.pg.snapshot import backends_of, collect

    with connection_from_args(args) as conn:
        snap = collect(conn)
        if args.include_queries and snap.backends:
            apps = sorted({b.application_name for b in snap.backends})[:50]
            detail = {b.pid: b for b in backends_of(conn, apps, query_chars=200)}
            snap = dataclasses.replace(
                snap, backends=tuple(detail.get(b.pid, b) for b in snap.backends))
    return snap


def report_paths(summary: Summary, output: Path | None) -> tuple[Path, Path]:
    """Where the Markdown and the JSON go: FILE and FILE.json, or a new pair in reports/."""
    if output is not None:
        return output, output.with_name(output.name + ".json")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(summary.generated_at))
    base = paths.reports_dir() / f"{summary.incident_id}-{stamp}"
    return base.with_name(base.name + ".md"), base.with_name(base.name + ".json")


def save(summary: Summary, output: Path | None) -> Path:
    """Write the report pair; return the Markdown path. InputError when it cannot be written."""
    md_path, json_path = report_paths(summary, output)
    try:
        paths.ensure_parent(md_path)
        md_path.write_text(markdown(summary), encoding="utf-8")
        json_path.write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot save the summary to {md_path}: {exc.strerror}",
                         "pick another --output") from None
    return md_path


def run(args: argparse.Namespace) -> int:
    webhook = _webhook(args)
    if webhook is None and not args.dry_run:
        raise InputError("no webhook URL",
                         "pass --webhook URL, set PGMEDIC_WEBHOOK_URL, or name the variable "
                         "with webhook_url_env in the config file (or use --dry-run)")
    fmt = args.format or (detect_format(webhook[0]) if webhook else DEFAULT_DRY_RUN_FORMAT)
    timeline, store = _timeline(args)
    snap = _live(args)
    summary = build_summary(timeline, snap, include_queries=args.include_queries,
                            note=args.note)
    payload = render(summary, fmt)
    saved = save(summary, args.output)
    if args.dry_run or webhook is None:
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        print(f"pgmedic: dry run ({fmt}): nothing sent; summary saved to {saved}",
              file=sys.stderr)
        return 0

    from pgmedic.notify.webhook import DeliveryError, deliver, mask_url

    url, _source = webhook
    try:
        delivery = deliver(url, payload)
    except DeliveryError as exc:
        _record(store, "summary not delivered", format=fmt, destination=mask_url(url),
                saved=str(saved), error=exc.message)
        raise DeliveryError(f"{exc.message}; the summary is kept in {saved}", exc.hint,
                            status=exc.status, attempts=exc.attempts) from None
    _record(store, f"summary posted ({fmt})", format=fmt, destination=delivery.destination,
            saved=str(saved), status=delivery.status, attempts=delivery.attempts)
    print(f"posted the summary to {delivery.destination} ({fmt}); saved to {saved}")
    return 0


def _record(store: TimelineStore | None, title: str, **data: object) -> None:
    """The share on the incident timeline (best effort: the post itself already happened)."""
    if store is not None:
        try:
            store.add(SHARED, title, **data)
        except OSError:
            pass
