"""The TUI against a live server: ``pgmedic [CONNINFO]``."""

from __future__ import annotations

import argparse

from pgmedic.commands.common import add_connection_arguments, conninfo_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument("--refresh", type=float, default=2.0, metavar="S",
                        help="seconds between refreshes (default 2)")
    parser.add_argument("--read-only", action="store_true",
                        help="disable every action that changes the server (termination)")


def run(args: argparse.Namespace) -> int:
    conninfo = conninfo_from_args(args)
    from pgmedic.tui.app import run_app

    return run_app(conninfo, args)
