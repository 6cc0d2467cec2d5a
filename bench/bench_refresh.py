"""One refresh against a real server, vs the floor: the raw fetch of pg_stat_activity.

    python bench/bench_refresh.py [--sizes 1000,5000] [--repeat 15]

Starts the embedded PostgreSQL, opens N real sessions over 20 applications (70% idle, 10%
active in pg_sleep, 20% idle in transaction), and times, alternately, over pgmedic's one
connection:

  floor    conn.fetch("SELECT * FROM pg_stat_activity")          (psycopg, all rows)
  refresh  collect() + groups_of() + the pool-exhaustion runbook's checks (when present)

Target: refresh / floor <= 1.5 (medians), at 1,000 and 5,000 backends.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from typing import Any

from benchlib import Bench, Series, machine, print_machine, section, table, timed, verdict

from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import collect
from pgmedic.triage.grouping import groups_of

TARGET_RATIO = 1.5
FLOOR_SQL = "SELECT * FROM pg_stat_activity"


def checks_fn() -> tuple[Callable[[Any], Any] | None, str]:
    try:
        from pgmedic.runbook import Context, run_runbook
        from pgmedic.runbook_files import load_runbook
    except ImportError as exc:
        return None, f"runbook checks not measurable yet ({exc})"
    book = load_runbook("pool-exhaustion")
    ctx = Context(interactive=True)

    def run(snap: Any) -> Any:
        return list(run_runbook(book, snap, ctx))
    return run, "snapshot + grouping + pool-exhaustion runbook checks"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    checks, what = checks_fn()
    rows = []
    with Bench(max(sizes)) as bench:
        info = machine(bench.pg_version())
        print("pgmedic bench: one refresh vs the raw fetch of pg_stat_activity")
        print(f"  refresh = {what}")
        for n in sizes:
            with section(f"{n:,} sessions"):
                bench.grow_to(n)
                print(f"  client backends: {bench.backends():,}")
                floor, refresh, only_snap = Series(), Series(), Series()
                with Connection(bench.server.dsn()) as conn:
                    for _ in range(3):  # warm caches on both sides
                        conn.fetch(FLOOR_SQL)
                        collect(conn)
                    for _ in range(args.repeat):
                        gc.collect()
                        took, rows_ = timed(lambda conn=conn: conn.fetch(FLOOR_SQL))
                        floor.add(took)

                        def one(conn: Connection = conn) -> Any:
                            snap = collect(conn)
                            groups_of(snap)
                            if checks is not None:
                                checks(snap)
                            return snap
                        took, snap = timed(one)
                        refresh.add(took)
                        took, _ = timed(lambda conn=conn: groups_of(collect(conn)))
                        only_snap.add(took)
                print(f"  floor rows: {len(rows_):,}, snapshot backends: "
                      f"{len(snap.backends):,}")
            ratio = refresh.median / floor.median
            for name, s in (("floor: SELECT * FROM pg_stat_activity", floor),
                            ("refresh (snapshot + grouping + checks)", refresh),
                            ("  of which snapshot + grouping", only_snap)):
                r = s.median / floor.median
                rows.append((f"{n:,}", name, f"{s.median * 1000:.1f}", f"{s.min * 1000:.1f}",
                             f"{s.max * 1000:.1f}", f"{r:.2f}",
                             "" if s is floor else
                             (f"{verdict(ratio, TARGET_RATIO)} (<= {TARGET_RATIO})"
                              if s is refresh else "")))
        info["load"] = f"{info['load']} (start) / {machine()['load']} (end)"
    print()
    print_machine(info)
    print()
    print(table(("backends", "what", "median ms", "min ms", "max ms", "x floor", "target"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
