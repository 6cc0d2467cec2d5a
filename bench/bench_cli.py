"""`pgmedic snapshot --json` as a whole process, at 10 and 1,000 backends; no Textual on its path.

    python bench/bench_cli.py [--sizes 10,1000] [--repeat 10]

Times the installed ``pgmedic`` entry point (fork, interpreter start, imports, connect, three
round trips, JSON out) against a real server, and checks with ``python -X importtime`` that
the command never imports Textual.

Targets: <= 0.6 s at 10 backends; at 1,000 backends <= 1.3 x the 10-backend median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from benchlib import Bench, Series, machine, print_machine, section, table, verdict

TARGET_10 = 0.6
TARGET_RATIO = 1.3


def entry_point() -> list[str]:
    exe = shutil.which("pgmedic", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "pgmedic"]


def run_once(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()}")
    return took, out.stdout


def import_report(dsn: str) -> tuple[bool, float, list[tuple[int, str]]]:
    """(textual imported?, total import ms, the 8 slowest top-level imports)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "pgmedic", "snapshot",
                          "--json", dsn], capture_output=True, text=True, check=True)
    textual = False
    top: list[tuple[int, str]] = []
    total = 0
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            cumulative = int(parts[1])
        except ValueError:
            continue
        name = parts[2].rstrip()
        if name.strip().split(".")[0] == "textual":
            textual = True
        if not name.startswith("  "):  # a top-level import (depth 0)
            total += cumulative
            top.append((cumulative, name.strip()))
    top.sort(reverse=True)
    return textual, total / 1000, top[:8]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    cmd_base = entry_point()
    rows = []
    medians: dict[int, float] = {}
    with Bench(max(sizes)) as bench:
        info = machine(bench.pg_version())
        print("pgmedic bench: `pgmedic snapshot --json` as a whole process")
        print(f"  command: {' '.join(cmd_base)} snapshot --json '{bench.server.dsn()}'")
        dsn = bench.server.dsn()
        textual, import_ms, slowest = import_report(dsn)
        for n in sizes:
            with section(f"{n:,} sessions"):
                bench.grow_to(n, apps=min(20, n))
                series = Series()
                cmd = [*cmd_base, "snapshot", "--json", dsn]
                run_once(cmd)  # warm the page cache
                for _ in range(args.repeat):
                    took, out = run_once(cmd)
                    series.add(took)
                data = json.loads(out)
                print(f"  client_connections in the JSON: {data['server']['client_connections']}"
                      f", groups: {len(data['groups'])}")
            medians[n] = series.median
            if n == sizes[0]:
                target = f"{verdict(series.median, TARGET_10)} (<= {TARGET_10} s)"
            else:
                ratio = series.median / medians[sizes[0]]
                target = (f"{verdict(ratio, TARGET_RATIO)} ({ratio:.2f} x the {sizes[0]}-backend"
                          f" run, <= {TARGET_RATIO})")
            rows.append((f"{n:,}", f"{series.median:.3f}", f"{series.min:.3f}",
                         f"{series.max:.3f}", target))
        info["load"] = f"{info['load']} (start) / {machine()['load']} (end)"
    print()
    print_machine(info)
    print()
    print(table(("backends", "median s", "min s", "max s", "target"), rows))
    print(f"\nimports of `pgmedic snapshot --json` (python -X importtime): {import_ms:.0f} ms "
          f"in total; textual imported: {'YES (target MISSED)' if textual else 'no (met)'}")
    for us, name in slowest:
        print(f"  {us / 1000:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
