"""Connections grouped by application and state, once, as a table or JSON.

The JSON schema (stable; new keys may be added, none removed):

    {
      "schema": 1,
      "taken_at": "2026-11-26T02:14:07.118+00:00",     # the server's clock
      "server": {
        "version": "16.2", "version_num": 160002,
        "host": "127.0.0.1", "port": 5432, "database": "app", "user": "triage",
        "max_connections": 100, "superuser_reserved_connections": 3,
        "reserved_connections": 0,                      # PostgreSQL 16+; 0 before
        "usable_connections": 97,                       # max - both reserved counts
        "client_connections": 96,                       # client backends, pgmedic's own excluded
        "free_connections": 0,                          # for ordinary roles, pgmedic's slot counted
        "superuser_connections": 2,                     # client backends of superuser roles
        "hidden_connections": 0,                        # rows whose state this role may not see
        "other_backends": {"autovacuum launcher": 1, "checkpointer": 1, ...},
        "limits": [{"kind": "role", "name": "app", "limit": 50, "current": 48}],
        "sees_all": true, "can_signal": true, "is_superuser": false
      },
      "groups": [
        {"application_name": "checkout-api", "state": "idle", "count": 80,
         "oldest_seconds": 312.5, "clients": 2}, ...
      ]
    }

``state`` is pg_stat_activity's (active, idle, idle in transaction, idle in transaction
(aborted), fastpath function call, disabled) or "(hidden)" for rows the role may not see.
``clients`` counts distinct client addresses (a Unix socket counts as one).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from pgmedic.commands.common import add_connection_arguments, connection_from_args
from pgmedic.model import Snapshot
from pgmedic.pg.snapshot import collect
from pgmedic.triage.capacity import saturation
from pgmedic.triage.grouping import Group, groups_of

EXAMPLES = """\
examples:
  pgmedic snapshot postgresql://triage@db.internal/app
  pgmedic snapshot --json | jq '.groups[] | select(.state == "idle")'
  PGSERVICE=prod pgmedic snapshot --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print JSON (the schema is in the README)")


def run(args: argparse.Namespace) -> int:
    with connection_from_args(args) as conn:
        snap = collect(conn)
    groups = groups_of(snap)
    if args.json:
        json.dump(to_json(snap, groups), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from pgmedic.render import print_snapshot

        print_snapshot(snap, groups)
    return 0


def to_json(snap: Snapshot, groups: list[Group]) -> dict[str, Any]:
    s = snap.server
    sat = saturation(snap)
    return {
        "schema": 1,
        "taken_at": datetime.fromtimestamp(snap.taken_at, UTC).isoformat(timespec="milliseconds"),
        "server": {
            "version": s.version,
            "version_num": s.version_num,
            "host": s.host,
            "port": s.port,
            "database": s.database,
            "user": s.user,
            "max_connections": s.max_connections,
            "superuser_reserved_connections": s.superuser_reserved_connections,
            "reserved_connections": s.reserved_connections,
            "usable_connections": s.usable_connections,
            "client_connections": snap.client_connections,
            "free_connections": sat.free_ordinary,
            "superuser_connections": sat.superuser_sessions,
            "hidden_connections": snap.hidden,
            "other_backends": snap.other_backends,
            "limits": [
                {"kind": lim.kind, "name": lim.name, "limit": lim.limit, "current": lim.current}
                for lim in snap.limits
            ],
            "sees_all": s.sees_all,
            "can_signal": s.can_signal,
            "is_superuser": s.is_superuser,
        },
        "groups": [g.as_dict() for g in groups],
    }
