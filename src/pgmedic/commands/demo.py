"""An embedded PostgreSQL with the article's incident running live, then the TUI on it.

Starts a throw-away PostgreSQL (from the ``pgserver`` wheel) and the services of the incident:
checkout-api with one pool per DatabaseClient (the bug: 160 connections wanted), billing-worker
with one shared pool per process (the fix), and a reporting job. Within seconds the ordinary
slots are gone and the services log ``too many clients``; pgmedic connects as ``triage``, which
may use the reserved slots. Everything is removed on exit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING

from pgmedic.errors import PgmedicError

if TYPE_CHECKING:
    from pgmedic.demo.incident import Incident

EXAMPLES = """\
examples:
  pgmedic demo                         the incident, then the TUI on it (f deploys the fix)
  pgmedic demo --headless              print the connection string, run until Ctrl-C/SIGTERM
  psql postgresql://triage@127.0.0.1:PORT/app   (in another terminal: the printed line)
  pgmedic demo --max-connections 50    a smaller server, the same bug
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-connections", type=int, default=100, metavar="N",
                        help="the embedded server's max_connections (default 100)")
    parser.add_argument("--headless", action="store_true",
                        help="no TUI: print the connection string on one line and keep the "
                             "incident running until Ctrl-C or SIGTERM")
    parser.add_argument("--quiet", action="store_true",
                        help="headless: do not echo the services' errors on stderr")
    parser.add_argument("--refresh", type=float, default=2.0, metavar="S",
                        help="seconds between refreshes of the TUI (default 2)")
    parser.add_argument("--read-only", action="store_true", default=None,
                        help="disable termination in the TUI")


class _Stop(Exception):
    """Raised in the main thread by SIGTERM / SIGHUP: leave through the cleanup."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    if args.max_connections < 20:
        raise PgmedicError(f"--max-connections {args.max_connections} is too small for the "
                           "demo", "use 20 or more (the default is 100)")
    from pgmedic.demo.incident import Incident

    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)
                if threading.current_thread() is threading.main_thread()}
    incident = Incident(max_connections=args.max_connections)
    try:
        incident.start()
        if args.headless:
            return _headless(incident, quiet=args.quiet)
        try:
            from pgmedic.tui.app import run_app
        except ImportError as exc:
            raise PgmedicError(f"the TUI could not be loaded ({exc})",
                               "use `pgmedic demo --headless` and point pgmedic or psql at it"
                               ) from exc
        return run_app(incident.operator_dsn, args, demo=incident)
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        # no second signal may cut the cleanup short
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            incident.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _headless(incident: Incident, *, quiet: bool) -> int:
    print(incident.operator_url, flush=True)
    err = sys.stderr
    print(f"pgmedic demo: PostgreSQL running on 127.0.0.1:"
          f"{incident.server.port}, max_connections={incident.max_connections}; services "
          f"connect as 'app', the operator as '{incident.operator_role}' (reserved slots).\n"
          f"pgmedic demo: try `pgmedic {incident.operator_url}` or `psql "
          f"{incident.operator_url}`. Ctrl-C or SIGTERM stops and removes everything.",
          file=err, flush=True)
    seen = 0
    while True:
        time.sleep(0.5)
        events = incident.events_since(seen)
        if events:
            seen = events[-1].seq
        if quiet:
            continue
        for ev in events:
            if ev.kind in ("started", "stopped"):
                continue
            stamp = datetime.fromtimestamp(ev.at).strftime("%H:%M:%S")
            times = f" x{ev.count}" if ev.count > 1 else ""
            who = f"{ev.service}#{ev.replica}" if ev.replica else ev.service
            print(f"{stamp} {who} {ev.kind}{times}: {ev.message}", file=err, flush=True)
