"""Hold many real client sessions open on a PostgreSQL server (a helper of the benchmarks).

Run by the bench scripts as a child process, driven by lines on stdin:

    open APP_PREFIX K COUNT [idle=0.7,active=0.1,xact=0.2]
        open COUNT sessions spread round-robin over K applications named APP_PREFIX-0 ..
        APP_PREFIX-(K-1) (K=1: exactly APP_PREFIX), in the given state mix:
        idle (connected, nothing running), active (SELECT pg_sleep(86400) running),
        xact (idle in transaction: BEGIN; SELECT 1)
    count      print how many sessions are open
    quit       close everything and exit (closing stdin does the same)

Every command answers with one line: ``ok <open sessions>`` or ``error <message>``.
asyncpg, bounded concurrency (``--concurrency``), all in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from typing import Any

import asyncpg


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Holder:
    def __init__(self, dsn: str, concurrency: int, user: str) -> None:
        self.dsn = dsn
        self.user = user
        self.sem = asyncio.Semaphore(concurrency)
        self.conns: list[Any] = []
        self.tasks: list[asyncio.Task[Any]] = []

    async def _one(self, app: str, state: str) -> None:
        async with self.sem:
            conn = await asyncpg.connect(self.dsn, user=self.user,
                                         server_settings={"application_name": app}, timeout=60)
            if state == "xact":
                await conn.execute("BEGIN; SELECT 1")
            elif state == "active":
                # keep it running; the task ends when the server or we close the connection
                self.tasks.append(asyncio.ensure_future(_sleep(conn)))
                await asyncio.sleep(0)
            self.conns.append(conn)

    async def open(self, prefix: str, k: int, count: int, mix: dict[str, float]) -> None:
        states: list[str] = []
        for state, share in mix.items():
            states += [state] * round(share * count)
        states = (states + ["idle"] * count)[:count]
        # interleave states so every application gets every state
        order = sorted(range(count), key=lambda i: (i * 7919) % count)
        jobs = []
        for i in range(count):
            app = prefix if k == 1 else f"{prefix}-{i % k}"
            jobs.append(self._one(app, states[order[i]]))
        await asyncio.gather(*jobs)
        # active sessions: give pg_sleep a moment to start
        await asyncio.sleep(0.2)

    def alive(self) -> int:
        self.conns = [c for c in self.conns if not c.is_closed()]
        return len(self.conns)

    async def close(self) -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
        for c in self.conns:
            c.terminate()  # no goodbye round trips: the server is thrown away anyway
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _sleep(conn: Any) -> None:
    try:
        await conn.execute("SELECT pg_sleep(86400)")
    except Exception:  # noqa: BLE001 - terminated or closed: the session is gone
        pass


def parse_mix(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        out[name.strip()] = float(share)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dsn")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--user", default="app", help="the role the sessions log in as")
    args = parser.parse_args()
    raise_nofile()
    # terminated sessions (the termination benchmark) leave futures nobody awaits
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
    holder = Holder(args.dsn, args.concurrency, args.user)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            words = line.split()
            if not words:
                continue
            try:
                if words[0] == "open":
                    mix = parse_mix(words[4]) if len(words) > 4 else {"idle": 1.0}
                    await holder.open(words[1], int(words[2]), int(words[3]), mix)
                elif words[0] == "quit":
                    break
                print(f"ok {holder.alive()}", flush=True)
            except Exception as exc:  # noqa: BLE001 - reported to the driver
                print(f"error {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
    finally:
        await holder.close()


if __name__ == "__main__":
    asyncio.run(main())
