"""Pure analysis on synthetic backends: grouping, services + pool inference + offender, budget,
and the runbook's checks, at 10k / 50k / 100k backends. No server.

    python bench/bench_analysis.py [--sizes 10000,50000,100000] [--repeat 7]

Target: the analysis (grouping, offender, pool inference, budget) <= 150 ms at 100,000
backends, and linear in N (the per-backend cost stays flat).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
from collections.abc import Callable
from typing import Any

from benchlib import Series, machine, print_machine, table, timed, verdict

from pgmedic.model import Backend, ServerInfo, Snapshot

TARGET_S = 0.150
NOW = 1_800_000_000.0
STATES = ("idle",) * 7 + ("active",) + ("idle in transaction",) * 2


def synthetic(n: int, services: int = 40, seed: int = 1) -> Snapshot:
    """``n`` backends: ``services`` Deployments, 2-6 pods each, pools of 10 opened in bursts;
    one offender with 8 pools per pod; 2% unnamed sessions from many addresses."""
    rnd = random.Random(seed)
    rows: list[Backend] = []
    pid = 1000
    pods: list[tuple[str, str]] = []
    for s in range(services):
        name = "checkout-api" if s == 0 else f"svc-{s:02d}-api"
        for r in range(rnd.randint(2, 6)):
            pods.append((f"{name}-7d9f8c6b5-{rnd.randrange(36**5):05x}"[:len(name) + 16],
                         f"10.{s}.{r}.1"))
    pod_of = 0
    while len(rows) < n:
        pod, addr = pods[pod_of % len(pods)]
        pod_of += 1
        pools = 8 if pod.startswith("checkout-api") else 1
        t0 = NOW - rnd.uniform(300, 3000)
        for p in range(pools):
            for i in range(10):
                if len(rows) >= n:
                    break
                pid += 1
                start = t0 + p * 3.0 + i * 0.004
                unnamed = rnd.random() < 0.02
                rows.append(Backend(
                    pid=pid, application_name="" if unnamed else pod, usename="app",
                    datname="app",
                    client_addr=f"10.99.{pid % 250}.{pid % 199}" if unnamed else addr,
                    client_port=40000 + pid % 20000, state=STATES[pid % len(STATES)],
                    backend_start=start, state_change=start + rnd.uniform(0, 200),
                    xact_start=None, wait_event="Client:ClientRead", superuser=False))
    info = ServerInfo(version_num=160002, version="16.2", max_connections=n + 100,
                      superuser_reserved_connections=3, reserved_connections=0, host="db",
                      port=5432, database="app", user="triage", is_superuser=True,
                      sees_all=True, can_signal=True, can_use_reserved=True)
    return Snapshot(taken_at=NOW, server=info, own_pid=1, backends=tuple(rows))


def components() -> dict[str, Callable[[Snapshot], Any]]:
    """What exists of the analysis in this checkout, by name (missing modules are skipped)."""
    from pgmedic.triage.grouping import groups_of

    out: dict[str, Callable[[Snapshot], Any]] = {"grouping": groups_of}
    try:
        from pgmedic.runbook.analysis import analyse_uncached
        from pgmedic.runbook.model import Context

        ctx = Context()
        out["services+pools+offender"] = lambda s: analyse_uncached(s, ctx)
    except ImportError as exc:
        print(f"  (pool inference not measurable yet: {exc})")
    try:
        from pgmedic.triage.budget import compute, inputs_from
        from pgmedic.triage.manifest import Manifest, ServiceSpec

        def budget(s: Snapshot) -> Any:
            names = sorted({b.application_name.rsplit("-", 2)[0] for b in s.backends
                            if b.application_name})
            specs = tuple(ServiceSpec(name=nm, pool_max=10, replicas=6,
                                      pattern=f"{nm}-*") for nm in names)
            return compute(inputs_from(Manifest(services=specs), s))

        out["budget (40-service manifest)"] = budget
    except ImportError as exc:
        print(f"  (budget not measurable yet: {exc})")
    return out


def runbook_checks() -> Callable[[Snapshot], Any] | None:
    try:
        from pgmedic.runbook import Context, run_runbook
        from pgmedic.runbook_files import load_runbook
    except ImportError:
        return None
    book = load_runbook("pool-exhaustion")

    def run(s: Snapshot) -> Any:
        from pgmedic.runbook import analysis

        analysis._last = None  # no cache from a previous repetition
        return list(run_runbook(book, s, Context()))
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print("pgmedic bench: pure analysis on synthetic backends")
    print_machine(machine())
    parts = components()
    checks = runbook_checks()
    if checks is not None:
        parts["runbook checks (all steps)"] = checks
    rows = []
    totals: dict[int, Series] = {}
    for n in sizes:
        snap = synthetic(n)
        total = Series()
        per = {name: Series() for name in parts}
        for _ in range(args.repeat):
            gc.collect()
            t_all = 0.0
            for name, fn in parts.items():
                if name.startswith("runbook"):
                    continue
                took, _ = timed(lambda fn=fn, s=snap: fn(s))
                per[name].add(took)
                t_all += took
            if checks is not None:
                took, _ = timed(lambda c=checks, s=snap: c(s))
                per["runbook checks (all steps)"].add(took)
            total.add(t_all)
        totals[n] = total
        for name, series in per.items():
            rows.append((f"{n:,}", name, f"{series.median * 1000:.1f}",
                         f"{series.min * 1000:.1f}", f"{series.max * 1000:.1f}",
                         f"{series.median / n * 1e6:.2f}", ""))
        target = TARGET_S * n / 100_000
        rows.append((f"{n:,}", "ANALYSIS TOTAL (no runbook)", f"{total.median * 1000:.1f}",
                     f"{total.min * 1000:.1f}", f"{total.max * 1000:.1f}",
                     f"{total.median / n * 1e6:.2f}",
                     f"{verdict(total.median, target)} (<= {target * 1000:.0f} ms)"
                     if n == 100_000 else f"(pro rata {target * 1000:.0f} ms)"))
    print()
    print(table(("backends", "part", "median ms", "min ms", "max ms", "us/backend", "target"),
                rows))
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        scale = (totals[hi].median / hi) / (totals[lo].median / lo)
        print(f"\nlinearity: cost per backend at {hi:,} / at {lo:,} = {scale:.2f} "
              "(1.0 = linear; <= 1.3 counts as linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
