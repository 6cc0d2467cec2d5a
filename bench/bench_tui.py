"""The TUI in a pseudo-terminal: time to the first grouped table, side by side with pg_activity;
peak memory, refresh cadence and key responsiveness at 5,000 backends.

    python bench/bench_tui.py [--first-paint 1000] [--soak 5000] [--repeat 7] [--soak-seconds 20]

pg_activity is a bench-only dependency: ``pip install pg_activity`` into the same venv.

First paint: both programs (and, for reference, bench/minimal_textual.py, a one-table
Textual app without a database) are started alternately in a 140x40 pty (TERM=xterm-256color,
TIOCSWINSZ); the clock runs from the fork until the pty output shows a row of the sessions
we opened ("bench-app-0" for pgmedic's grouped table, "bench-app" in pg_activity's process
list). The pty answers the terminal queries a real xterm answers (cursor position,
XTGETTCAP, XTVERSION, DA1), as blessed waits up to 5 s for them. Then ``q``; each process
must exit.

Soak: pgmedic with ``--refresh 1`` at 5,000 backends for ``--soak-seconds``: the achieved
refresh cadence (pgmedic's statements seen from another connection, every 50 ms, clustered
per refresh), the refresh cost from its status line, the latency of the ``s`` key (sort;
the app answers with a "sorted by ..." notification) sent every 1.3 s, and the peak RSS
(VmHWM) of the TUI process.

Targets: first paint <= 1.0 s at 1,000 backends and <= 1.5 x pg_activity's; peak RSS at
5,000 backends <= 150 MB; the 1 s refresh held, no key press missed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import threading
import time

from benchlib import (
    ANSI,
    Bench,
    Series,
    machine,
    print_machine,
    section,
    spawn_in_pty,
    table,
    verdict,
    vm_hwm_mb,
)

TARGET_PAINT = 1.0
TARGET_VS_PGA = 1.5
TARGET_RSS_MB = 150.0
SORTS = ("application", "state", "oldest", "count")


def pgmedic_cmd(url: str, refresh: float = 2.0) -> list[str]:
    exe = shutil.which("pgmedic", path=os.path.dirname(sys.executable))
    base = [exe] if exe else [sys.executable, "-m", "pgmedic"]
    return [*base, url, "--refresh", str(refresh)]


def pg_activity_cmd(bench: Bench) -> list[str] | None:
    exe = shutil.which("pg_activity", path=os.path.dirname(sys.executable))
    if exe is None:
        return None
    s = bench.server
    return [exe, "-h", s.host, "-p", str(s.port), "-U", "postgres", "-d", "postgres", "-w"]


def first_paint(bench: Bench, n: int, repeat: int) -> list[tuple[str, ...]]:
    bench.grow_to(n)
    pga = pg_activity_cmd(bench)
    if pga is None:
        print("  pg_activity is not installed: pip install pg_activity (bench only)")
    runs: dict[str, Series] = {"pgmedic": Series(), "pg_activity": Series(),
                               "minimal": Series()}
    minimal = [sys.executable, os.path.join(os.path.dirname(__file__), "minimal_textual.py")]
    rss = Series()
    exits: list[str] = []
    for i in range(repeat + 1):  # the first round warms the page cache, not counted
        progs: list[tuple[str, list[str], bytes]] = [
            ("pgmedic", pgmedic_cmd(bench.server.url()), b"bench-app-0")]
        if pga is not None:
            progs.append(("pg_activity", pga, b"bench-app"))
        progs.append(("minimal", minimal, b"bench-app-0"))
        if i % 2:
            progs.reverse()
        for name, cmd, marker in progs:
            p = spawn_in_pty(cmd)
            took = p.wait_for(marker, 15)
            if name == "pgmedic":
                p.read_for(0.3)
                if i:
                    rss.add(vm_hwm_mb(p.proc.pid))
            rc = p.quit()
            if rc != 0:
                exits.append(f"{name} exit {rc}")
            if took is None:
                tail = ANSI.sub(b"", bytes(p.output[-600:])).decode(errors="replace")
                raise RuntimeError(f"{name}: no first paint within 15 s: {tail!r}")
            if i:
                runs[name].add(took)
            time.sleep(0.3)
    pgm, pga_s = runs["pgmedic"], runs["pg_activity"]
    rows = [(f"{n:,}", "pgmedic: launch -> grouped table painted", f"{pgm.median:.3f}",
             f"{pgm.min:.3f}", f"{pgm.max:.3f}",
             f"{verdict(pgm.median, TARGET_PAINT)} (<= {TARGET_PAINT} s)")]
    if pga_s.samples:
        ratio = pgm.median / pga_s.median
        rows.append((f"{n:,}", "pg_activity: launch -> first screen", f"{pga_s.median:.3f}",
                     f"{pga_s.min:.3f}", f"{pga_s.max:.3f}", ""))
        rows.append((f"{n:,}", "pgmedic / pg_activity", f"{ratio:.2f}", "", "",
                     f"{verdict(ratio, TARGET_VS_PGA)} (<= {TARGET_VS_PGA})"))
    mini = runs["minimal"]
    rows.append(("-", "reference: one-table Textual app, no DB", f"{mini.median:.3f}",
                 f"{mini.min:.3f}", f"{mini.max:.3f}", "(informative)"))
    rows.append((f"{n:,}", "pgmedic peak RSS (VmHWM), MB", f"{rss.median:.1f}",
                 f"{rss.min:.1f}", f"{rss.max:.1f}", "(informative)"))
    print(f"  exits: {', '.join(exits) if exits else 'all 0'}")
    return rows


def watch_refreshes(dsn: str, stop: threading.Event, starts: set[float]) -> None:
    """pgmedic's statements, seen from another connection every 50 ms."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True, application_name="bench-watch") as conn:
        while not stop.is_set():
            for (qs,) in conn.execute(
                    "SELECT extract(epoch FROM query_start)::float8 FROM pg_stat_activity "
                    "WHERE application_name = 'pgmedic' AND query_start IS NOT NULL"):
                starts.add(float(qs))
            time.sleep(0.05)


def cadence(starts: set[float], gap: float = 0.3) -> list[float]:
    """Seconds between refreshes: statements closer than ``gap`` are one refresh."""
    firsts: list[float] = []
    last = None
    for t in sorted(starts):
        if last is None or t - last > gap:
            firsts.append(t)
        last = t
    return [b - a for a, b in zip(firsts, firsts[1:], strict=False)]


def soak(bench: Bench, n: int, seconds: float) -> list[tuple[str, ...]]:
    bench.grow_to(n)
    print(f"  client backends: {bench.backends():,}")
    starts: set[float] = set()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_refreshes, args=(bench.server.dsn(), stop, starts),
                               daemon=True)
    p = spawn_in_pty(pgmedic_cmd(bench.server.url(), refresh=1.0))
    paint = p.wait_for(b"bench-app-", 20)
    watcher.start()
    keys = Series()
    missed = 0
    sent = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        p.read_for(0.5)
        mode = SORTS[sent % len(SORTS)]
        sent += 1
        t0 = time.perf_counter()
        p.send(b"s")
        got = p.wait_for(f"sorted by {mode}".encode(), 5, new_only=True)
        if got is None:
            missed += 1
        else:
            keys.add(time.perf_counter() - t0)
        p.read_for(0.8)
    rss = vm_hwm_mb(p.proc.pid)
    stop.set()
    watcher.join(timeout=5)
    text = ANSI.sub(b"", bytes(p.output)).decode(errors="replace")
    took_ms = [int(x) for x in re.findall(r"refreshed \d+s ago \((\d+) ms\)", text)]
    rc = p.quit()
    gaps = cadence(starts)
    print(f"  first paint {paint if paint is None else round(paint, 3)} s; exit {rc}; "
          f"{len(gaps) + 1} refreshes seen; keys sent {sent}, missed {missed}")
    rows = [
        (f"{n:,}", "pgmedic peak RSS (VmHWM), MB", f"{rss:.1f}", "", "",
         f"{verdict(rss, TARGET_RSS_MB)} (<= {TARGET_RSS_MB:.0f} MB)"),
    ]
    if gaps:
        rows.append((f"{n:,}", "refresh cadence at --refresh 1, s",
                     f"{statistics.median(gaps):.3f}",
                     f"{min(gaps):.3f}", f"{max(gaps):.3f}",
                     f"{verdict(statistics.median(gaps), 1.15)} (1 s + refresh cost)"))
    if took_ms:
        rows.append((f"{n:,}", "refresh cost in the status line, ms",
                     f"{statistics.median(took_ms):.0f}", f"{min(took_ms)}", f"{max(took_ms)}",
                     "(informative)"))
    if keys.samples:
        rows.append((f"{n:,}", "key 's' -> 'sorted by' painted, s", f"{keys.median:.3f}",
                     f"{keys.min:.3f}", f"{keys.max:.3f}",
                     f"{'met' if missed == 0 else 'MISSED'} ({missed}/{sent} keys missed)"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-paint", type=int, default=1000, metavar="N")
    parser.add_argument("--soak", type=int, default=5000, metavar="N",
                        help="backends for the memory / cadence run (0: skip)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--soak-seconds", type=float, default=20.0)
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with Bench(max(args.first_paint, args.soak)) as bench:
        info = machine(bench.pg_version())
        print("pgmedic bench: the TUI in a pty (140x40), side by side with pg_activity")
        with section(f"first paint at {args.first_paint:,} sessions"):
            rows += first_paint(bench, args.first_paint, args.repeat)
        if args.soak:
            with section(f"soak at {args.soak:,} sessions, --refresh 1"):
                rows += soak(bench, args.soak, args.soak_seconds)
        info["load"] = f"{info['load']} (start) / {machine()['load']} (end)"
    print()
    print_machine(info)
    print()
    print(table(("backends", "what", "median", "min", "max", "target"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
