"""Terminating 1,000 idle backends: one statement, verified, against a real server.

    python bench/bench_terminate.py [--n 1000] [--repeat 5]

Each round opens N idle sessions of the application ``bench-kill`` (next to 200 sessions of
other applications that must survive), then times pgmedic's own path (``pg/actions.py``):

  preview    the previewed targets (one query)
  terminate  ONE guarded statement over the array of pids (+ the audit log lines)
  verify     polls until every terminated backend has exited, counts the freed slots

Target: terminate + verify <= 1 s at 1,000 backends (medians).
"""

from __future__ import annotations

import argparse
import sys
import time

from benchlib import Bench, Series, machine, print_machine, section, table, verdict

from pgmedic.pg.connection import Connection, Settings

TARGET_S = 1.0
APP = "bench-kill"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        from pgmedic.pg.actions import preview, terminate, verify
        from pgmedic.triage.targets import TargetSpec
    except ImportError as exc:
        print(f"pg/actions.py is not there yet: {exc}")
        return 1
    prev, term, ver, total = Series(), Series(), Series(), Series()
    notes: list[str] = []
    with Bench(args.n + 200) as bench:
        info = machine(bench.pg_version())
        print(f"pgmedic bench: terminate {args.n:,} idle backends, one statement, verified")
        bench.open(200, apps=10)
        spec = TargetSpec(applications=(APP,), states=("idle",))
        for r in range(args.repeat):
            with section(f"round {r + 1}"):
                bench.open(args.n, prefix=APP, apps=1, mix="idle=1.0")
                time.sleep(0.5)  # let the last sessions settle into idle
                with Connection(bench.server.dsn(), Settings(statement_timeout_ms=30_000)) as c:
                    t0 = time.perf_counter()
                    p = preview(c, spec)
                    t1 = time.perf_counter()
                    outcome = terminate(c, p, operator="bench")
                    t2 = time.perf_counter()
                    v = verify(c, outcome, wait_s=0)
                    t3 = time.perf_counter()
                prev.add(t1 - t0)
                term.add(t2 - t1)
                ver.add(t3 - t2)
                total.add(t3 - t1)
                line = (f"targets {len(p.targets)}, terminated {len(outcome.terminated)}, "
                        f"exited {v.exited}, clients {v.client_before} -> {v.client_after}")
                print(f"  {line}")
                notes.append(line)
                time.sleep(0.5)
                bench.count()  # the holder drops its terminated sessions
        info["load"] = f"{info['load']} (start) / {machine()['load']} (end)"
    print()
    print_machine(info)
    print()
    rows = []
    for name, s in (("preview (1 query)", prev), ("terminate (1 statement + audit log)", term),
                    ("verify (until all exited)", ver)):
        rows.append((f"{args.n:,}", name, f"{s.median * 1000:.0f}", f"{s.min * 1000:.0f}",
                     f"{s.max * 1000:.0f}", ""))
    rows.append((f"{args.n:,}", "TERMINATE + VERIFY", f"{total.median * 1000:.0f}",
                 f"{total.min * 1000:.0f}", f"{total.max * 1000:.0f}",
                 f"{verdict(total.median, TARGET_S)} (<= {TARGET_S * 1000:.0f} ms)"))
    print(table(("backends", "step", "median ms", "min ms", "max ms", "target"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
