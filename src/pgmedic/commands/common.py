"""Arguments shared by every command that talks to a server: psql's, plus pgmedic's own."""

from __future__ import annotations

import argparse

from pgmedic.pg.connection import Connection, Settings, build_conninfo


def add_connection_arguments(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    group = parser.add_argument_group(
        "connection (as psql: libpq also reads PG* variables, ~/.pgpass and service files)"
    )
    if positional:
        parser.add_argument(
            "conninfo", nargs="?", metavar="CONNINFO",
            help="postgresql://user@host:port/db, 'host=... dbname=...', or a database name",
        )
    group.add_argument("-h", "--host", help="server host or socket directory")
    group.add_argument("-p", "--port", help="server port")
    group.add_argument("-U", "--username", dest="user", help="database role to connect as")
    group.add_argument("-d", "--dbname", help="database name")
    group.add_argument("--connect-timeout", type=int, default=None, metavar="S",
                       help="seconds to wait for the server (default 5)")
    group.add_argument("--statement-timeout", type=int, default=None, metavar="MS",
                       help="bound on each of pgmedic's own queries (default 5000 ms)")


def conninfo_from_args(args: argparse.Namespace) -> str:
    return build_conninfo(
        getattr(args, "conninfo", None), host=args.host, port=args.port, user=args.user,
        dbname=args.dbname,
    )


def settings_from_args(args: argparse.Namespace | None, *, read_only: bool = True) -> Settings:
    """The one connection's timeouts from the flags (cli.main has checked they are positive;
    a namespace without them, as the demo's, gets the defaults)."""
    return Settings(
        connect_timeout=int(getattr(args, "connect_timeout", None) or 5),
        statement_timeout_ms=int(getattr(args, "statement_timeout", None) or 5000),
        read_only=read_only,
    )


def connection_from_args(args: argparse.Namespace, *, read_only: bool = True) -> Connection:
    return Connection(conninfo_from_args(args), settings_from_args(args, read_only=read_only))
