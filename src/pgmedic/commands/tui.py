"""The TUI against a live server: ``pgmedic [CONNINFO]``."""

from __future__ import annotations

import argparse

from pgmedic.commands.common import (
    add_connection_arguments,
    conninfo_from_args,
    settings_from_args,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument("--refresh", type=float, default=None, metavar="S",
                        help="seconds between refreshes (default 2)")
    parser.add_argument("--read-only", action="store_true", default=None,
                        help="disable every action that changes the server (termination)")
    parser.add_argument("--runbook", metavar="NAME|PATH", default=None,
                        help="the runbook to walk (default pool-exhaustion; see `pgmedic runbook`)")
    parser.add_argument("--pool-max", type=int, default=None, metavar="N",
                        help="the services' configured pool maximum (else PG_POOL_MAX_SIZE)")
    parser.add_argument("--services", metavar="FILE", default=None,
                        help="services manifest (TOML) for the pools and budget steps")
    parser.add_argument("--webhook", metavar="URL", default=None,
                        help="chat webhook for the share step (else PGMEDIC_WEBHOOK_URL or the "
                             "config file); never shown in full")
    parser.add_argument("--format", choices=("slack", "mattermost", "discord", "teams", "json"),
                        default=None, help="chat format for the share step (default: from the "
                                           "webhook URL)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the latest incident timeline instead of starting one")


def run(args: argparse.Namespace) -> int:
    conninfo = conninfo_from_args(args)
    # connect and take the first snapshot while Textual is still being imported
    from pgmedic.tui.session import LiveSession

    session = LiveSession(conninfo, settings_from_args(args))
    session.prefetch()
    from pgmedic.tui.app import run_app

    return int(run_app(conninfo, args, session=session))
