"""One replica of a simulated service: a child process of the demo's :class:`Incident`.

``python -m pgmedic.demo.service --service checkout-api --replica 1 --mode per-instance ...``

Real pools (``psycopg_pool``), real connections, real ``application_name``, real errors.
Every connection goes through a small TCP relay inside the process that connects to the server
*from* this replica's own loopback address (127.0.0.2, 127.0.0.3, ...), so each replica shows up
in ``pg_stat_activity.client_addr`` as a distinct host, like a container would.

Modes:

``per-instance``  the bug from the article: ``DatabaseClient.__init__`` builds its own pool
                  (min = max = 10, opened eagerly, like asyncpg's defaults), and a health
                  checker, a dependency checker and every worker each make one.
``shared``        the fix: one pool per process, sized from ``PG_POOL_MAX_SIZE``, that every
                  ``DatabaseClient`` borrows from; ``close()`` on an instance is a no-op.
``reporting``     one session left idle in transaction, a few long ``pg_sleep`` queries.

Events (errors, failed health checks) go to stdout as JSON lines, one per kind at most every
half second with a ``count``; the parent aggregates them. The process exits when its stdin
reaches EOF (the parent is gone, however it died) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

# -- events to the parent ----------------------------------------------------------------


class Emitter:
    """Counts events by kind and writes them as JSON lines, coalesced every ``interval`` s."""

    def __init__(self, service: str, replica: int, interval: float = 0.5) -> None:
        self.service = service
        self.replica = replica
        self.interval = interval
        self._pending: dict[str, tuple[int, str]] = {}

    def now(self, kind: str, message: str) -> None:
        self._write(kind, message, 1)

    def emit(self, kind: str, message: str) -> None:
        count, _ = self._pending.get(kind, (0, ""))
        self._pending[kind] = (count + 1, message)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for kind, (count, message) in pending.items():
            self._write(kind, message, count)

    def _write(self, kind: str, message: str, count: int) -> None:
        line = json.dumps({"at": time.time(), "service": self.service, "replica": self.replica,
                           "kind": kind, "message": message, "count": count})
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            pass

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.flush()


EMITTER = Emitter("?", 0)


def server_message(exc: BaseException) -> str:
    """The server's own words from a psycopg error (``FATAL:  sorry, too many clients``)."""
    text = str(exc).strip()
    for marker in ("FATAL:", "ERROR:"):
        if marker in text:
            return marker + " " + text.split(marker, 1)[1].strip()
    return text.splitlines()[0] if text else type(exc).__name__


def classify(exc: BaseException) -> str:
    text = str(exc)
    if ("too many clients" in text or "remaining connection slots are reserved" in text
            or "too many connections for" in text):
        return "too_many_connections"
    if "terminating connection due to administrator command" in text:
        return "connection_terminated"
    return "connect_error"


class CountingConnection(psycopg.AsyncConnection[TupleRow]):
    """A psycopg connection whose failed connects are reported (like an app's error log)."""

    @classmethod
    async def connect(cls, conninfo: str = "", **kwargs: Any) -> CountingConnection:
        try:
            conn = await super().connect(conninfo, **kwargs)
        except psycopg.OperationalError as exc:
            kind = classify(exc)
            prefix = "TooManyConnectionsError (SQLSTATE 53300): " if (
                kind == "too_many_connections") else ""
            EMITTER.emit(kind, prefix + server_message(exc))
            raise
        return conn


# -- the relay: distinct client addresses per replica --------------------------------------


class Relay:
    """Accepts on 127.0.0.1:<ephemeral>; connects to the server from ``source_addr``."""

    def __init__(self, server_host: str, server_port: int, source_addr: str) -> None:
        self.server_host = server_host
        self.server_port = server_port
        self.source_addr = source_addr
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, c_reader: asyncio.StreamReader,
                      c_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            try:
                s_reader, s_writer = await asyncio.open_connection(
                    self.server_host, self.server_port, local_addr=(self.source_addr, 0))
            except OSError:
                c_writer.close()
                return
            await asyncio.gather(self._pipe(c_reader, s_writer), self._pipe(s_reader, c_writer))
        finally:
            if task is not None:
                self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            # one side gone: the whole session is gone (as a TCP connection would be)
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# -- the clients ---------------------------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace, relay: Relay) -> None:
        self.args = args
        self.conninfo = psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=str(relay.port), user=args.user, dbname=args.dbname,
            application_name=args.service, connect_timeout="3")
        self.pools: list[AsyncConnectionPool[CountingConnection]] = []

    def new_pool(self, size: int, name: str) -> AsyncConnectionPool[CountingConnection]:
        pool = AsyncConnectionPool(
            self.conninfo, connection_class=CountingConnection, min_size=size, max_size=size,
            open=False, name=name, timeout=2.0, reconnect_timeout=10.0, num_workers=2,
            kwargs={"autocommit": True},
        )
        self.pools.append(pool)
        return pool


class DatabaseClient:
    """THE BUG: every instance builds its own pool (the article's ``create_pool(max=10)``)."""

    def __init__(self, ctx: Context, role: str) -> None:
        self.pool = ctx.new_pool(ctx.args.pool_max, f"{ctx.args.service}-{role}")

    async def start(self) -> None:
        await self.pool.open(wait=False)  # opens all of them at once, in the background


_shared_pool: AsyncConnectionPool[CountingConnection] | None = None


def get_shared_pool(ctx: Context) -> AsyncConnectionPool[CountingConnection]:
    """THE FIX: one pool per process, sized from PG_POOL_MAX_SIZE."""
    global _shared_pool
    if _shared_pool is None:
        size = int(os.environ.get("PG_POOL_MAX_SIZE") or ctx.args.pool_max)
        _shared_pool = ctx.new_pool(size, f"{ctx.args.service}-shared")
    return _shared_pool


class SharedDatabaseClient:
    """Borrows from the process's one pool; ``close()`` is a no-op."""

    def __init__(self, ctx: Context, role: str) -> None:
        self.pool = get_shared_pool(ctx)

    async def start(self) -> None:
        if self.pool.closed:
            await self.pool.open(wait=False)

    async def close(self) -> None:
        """No-op: the shared pool is closed once, at shutdown."""


Client = DatabaseClient | SharedDatabaseClient


async def run_query(client: Client, sql: str, timeout: float = 2.0) -> None:
    async with client.pool.connection(timeout=timeout) as conn:
        await conn.execute(sql)


async def checker(client: Client, every: float, kind: str, what: str) -> None:
    """A health / dependency check: fails (and says so) when no connection can be had."""
    while True:
        await asyncio.sleep(every * random.uniform(0.8, 1.2))
        try:
            await run_query(client, "SELECT 1", timeout=1.5)
        except PoolTimeout:
            EMITTER.emit(kind, f"{what} failed: no database connection within 1.5 s "
                               "(pool exhausted, connects refused)")
        except psycopg.Error as exc:
            EMITTER.emit(kind, f"{what} failed: {server_message(exc)}")


async def dependency_checker(ctx: Context, every: float) -> None:
    """Can a new client get in? Connects afresh, as the orchestrator's probe would."""
    while True:
        await asyncio.sleep(every * random.uniform(0.8, 1.2))
        try:
            conn = await CountingConnection.connect(ctx.conninfo, autocommit=True)
        except psycopg.Error as exc:
            EMITTER.emit("dependency_check_failed",
                         f"dependency_check_failed: database: {server_message(exc)}")
            continue
        await conn.close()


async def worker(client: Client, n: int) -> None:
    """Mostly idle; now and then a short query, sometimes a slower one (state 'active')."""
    while True:
        await asyncio.sleep(random.uniform(2.0, 6.0))
        slow = random.random() < 0.3
        sql = f"SELECT pg_sleep({random.uniform(1.0, 3.0):.2f})" if slow else "SELECT 1"
        try:
            await run_query(client, sql)
        except PoolTimeout:
            EMITTER.emit("worker_pool_timeout",
                         f"worker {n}: timed out waiting for a database connection")
        except psycopg.Error as exc:
            EMITTER.emit(classify(exc), f"worker {n}: {server_message(exc)}")


async def maintenance(ctx: Context, every: float = 2.0) -> None:
    """The pools' keepalive: broken connections are replaced, missing ones re-attempted.

    This is why terminating idle connections is only mitigation: the pools refill.
    """
    while True:
        await asyncio.sleep(every)
        for pool in list(ctx.pools):
            if not pool.closed:
                with contextlib.suppress(psycopg.Error):
                    await pool.check()


async def run_app_service(ctx: Context, make: Callable[[Context, str], Client]) -> list[
        Awaitable[None]]:
    health = make(ctx, "health")
    dependency = make(ctx, "dependency")
    workers = [make(ctx, f"worker-{i}") for i in range(ctx.args.workers)]
    for client in (health, dependency, *workers):
        await client.start()
        # components start one after the other: each pool is a burst of connections
        await asyncio.sleep(ctx.args.stagger)
    jobs: list[Awaitable[None]] = [
        checker(health, 2.0, "health_check_failed", "health check"),
        dependency_checker(ctx, 3.0),
        maintenance(ctx),
    ]
    jobs += [worker(client, i) for i, client in enumerate(workers)]
    return jobs


async def reporting_session(ctx: Context, body: Callable[[CountingConnection], Awaitable[None]],
                            ) -> None:
    """One plain connection (a report job), reconnecting when it is lost or refused."""
    while True:
        try:
            conn = await CountingConnection.connect(ctx.conninfo, autocommit=True)
        except psycopg.OperationalError:
            await asyncio.sleep(random.uniform(2.0, 4.0))
            continue
        try:
            await body(conn)
        except psycopg.Error as exc:
            EMITTER.emit(classify(exc), f"report: {server_message(exc)}")
        finally:
            await conn.close()
        await asyncio.sleep(1.0)


async def idle_in_transaction(conn: CountingConnection) -> None:
    await conn.execute("BEGIN")
    await conn.execute("SELECT count(*) FROM pg_class")
    await asyncio.Event().wait()  # forgotten: a transaction left open


async def long_query(conn: CountingConnection) -> None:
    while True:
        await conn.execute("SELECT pg_sleep(20)")


async def run_reporting(ctx: Context) -> list[Awaitable[None]]:
    jobs: list[Awaitable[None]] = [reporting_session(ctx, idle_in_transaction)]
    jobs += [reporting_session(ctx, long_query) for _ in range(ctx.args.active)]
    return jobs


# -- process plumbing ----------------------------------------------------------------------


def watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """stdin EOF means the parent is gone (even if it was SIGKILLed): stop."""

    def wait() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


async def amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    watch_parent(loop, stop)

    relay = Relay(args.server_host, args.server_port, args.source_addr)
    await relay.start()
    ctx = Context(args, relay)
    if args.mode == "per-instance":
        jobs = await run_app_service(ctx, DatabaseClient)
    elif args.mode == "shared":
        jobs = await run_app_service(ctx, SharedDatabaseClient)
    else:
        jobs = await run_reporting(ctx)
    EMITTER.now("started", f"{args.service} replica {args.replica} started ({args.mode} pools, "
                           f"client address {args.source_addr})")
    tasks = [asyncio.ensure_future(job) for job in jobs]
    tasks.append(asyncio.ensure_future(EMITTER.run()))
    await stop.wait()

    signal.alarm(5)  # a shutdown that hangs ends hard (handler set in main)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(pool.close(timeout=1.0) for pool in ctx.pools),
                         return_exceptions=True)
    await relay.close()
    EMITTER.flush()
    EMITTER.now("stopped", f"{args.service} replica {args.replica} stopped")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pgmedic.demo.service")
    p.add_argument("--service", required=True)
    p.add_argument("--replica", type=int, default=1)
    p.add_argument("--mode", choices=("per-instance", "shared", "reporting"), required=True)
    p.add_argument("--source-addr", default="127.0.0.1")
    p.add_argument("--server-host", default="127.0.0.1")
    p.add_argument("--server-port", type=int, required=True)
    p.add_argument("--user", default="app")
    p.add_argument("--dbname", default="app")
    p.add_argument("--pool-max", type=int, default=10)
    p.add_argument("--workers", type=int, default=6)
    p.add_argument("--active", type=int, default=2)
    p.add_argument("--stagger", type=float, default=0.3,
                   help="seconds between the start of two components (pools)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    global EMITTER
    args = parse_args(argv)
    EMITTER = Emitter(args.service, args.replica)
    # the pool's own warnings would repeat what the events already say
    logging.getLogger("psycopg").setLevel(logging.CRITICAL)
    # hard stop if a graceful shutdown hangs
    signal.signal(signal.SIGALRM, lambda *_: os._exit(1))
    try:
        return asyncio.run(amain(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
