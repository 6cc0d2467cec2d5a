"""The article's incident, live: an embedded PostgreSQL and the services that exhaust it.

>>> with Incident() as incident:          # server, roles, services; returns within seconds
...     incident.operator_url             # 'postgresql://triage@127.0.0.1:PORT/app'
...     incident.wait_saturated()         # the buggy pools have taken every ordinary slot
...     incident.events_since(0)          # what the services logged (53300, failed checks)
...     incident.deploy_fix()             # checkout-api restarts with one shared pool
... # everything stopped, data removed, no process left

Roles on the server:

``app``     the services' role: not a superuser, so the reserved slots stay free.
``triage``  the operator's (pgmedic's) role: ``pg_monitor`` (sees every session),
            ``pg_signal_backend`` (may terminate the services' backends) and, from PostgreSQL
            16, ``pg_use_reserved_connections`` with ``reserved_connections = 3``: it gets in
            when the services cannot. Before 16 the operator is the superuser ``postgres``.

Services (each replica a child process, see :mod:`pgmedic.demo.service`), each replica
connecting from its own loopback address so replicas are countable by ``client_addr``:

``checkout-api``   the bug: a pool of 10 per ``DatabaseClient`` instance, 8 instances per
                   replica (health + dependency checker + 6 workers), 2 replicas: 160 wanted.
``billing-worker`` the fix: one shared pool of ``PG_POOL_MAX_SIZE`` = 5, 3 replicas: 15.
``reporting``      one session idle in transaction and 2 long ``pg_sleep`` queries.

Everything is thread-safe: a TUI may call :meth:`Incident.events_since` and
:meth:`Incident.stats` from its workers, and :meth:`Incident.deploy_fix` (blocking, a few
seconds) from a worker thread.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pgmedic.demo.server import EmbeddedServer, default_bin_dir
from pgmedic.errors import PgmedicError

SERVICE_ROLE = "app"
OPERATOR_ROLE = "triage"
DBNAME = "app"
CHECKOUT = "checkout-api"
BILLING = "billing-worker"
REPORTING = "reporting"

#: kinds of events the services report (``ServiceEvent.kind``)
ERROR_KINDS = ("too_many_connections", "connect_error", "health_check_failed",
               "dependency_check_failed", "worker_pool_timeout", "connection_terminated")


@dataclass(frozen=True)
class ServiceEvent:
    """One line of a service's log, as the engineer would be paged with it.

    ``count`` > 1 when the service logged the same kind several times within half a second
    (the message is the last one). ``replica`` is 0 for events of the incident itself
    (a deploy).
    """

    seq: int
    at: float  # epoch seconds
    service: str
    replica: int
    kind: str
    message: str
    count: int = 1

    @property
    def is_error(self) -> bool:
        return self.kind in ERROR_KINDS


@dataclass(frozen=True)
class ServicePlan:
    """How a service is deployed: what the budget math needs, as a manifest would say it."""

    name: str
    replicas: int
    pool_max: int
    pools_per_replica: int  # 8 for the bug (one per DatabaseClient), 1 for the fix
    mode: str  # per-instance, shared, reporting
    workers: int = 6

    @property
    def wanted(self) -> int:
        return self.replicas * self.pool_max * self.pools_per_replica


@dataclass(frozen=True)
class IncidentStats:
    """Counters for the demo banner: what the services suffered, per service and kind."""

    started_at: float
    fixed: bool
    fixed_at: float | None
    max_connections: int
    reserved_connections: int
    superuser_reserved_connections: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, kind: str, service: str | None = None) -> int:
        return sum(kinds.get(kind, 0) for name, kinds in self.counts.items()
                   if service is None or name == service)

    @property
    def too_many_connections(self) -> int:
        """53300 errors the services got (all services)."""
        return self.total("too_many_connections")

    @property
    def failed_health_checks(self) -> int:
        return self.total("health_check_failed") + self.total("dependency_check_failed")


def server_major(bin_dir: Path) -> int:
    try:
        out = subprocess.run([str(bin_dir / "postgres"), "-V"], capture_output=True, text=True,
                             check=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise PgmedicError(f"cannot run the embedded PostgreSQL in {bin_dir}: {exc}") from exc
    # 'postgres (PostgreSQL) 16.2'
    try:
        return int(out.split()[-1].split(".")[0])
    except (ValueError, IndexError) as exc:
        raise PgmedicError(f"unexpected `postgres -V` output: {out.strip()!r}") from exc


class _Child:
    """One service replica: a child process whose stdout is its event stream."""

    def __init__(self, incident: Incident, plan: ServicePlan, replica: int, addr: str,
                 mode: str, log_path: Path) -> None:
        self.plan = plan
        self.replica = replica
        self.addr = addr
        self.mode = mode
        server = incident.server
        cmd = [sys.executable, "-m", "pgmedic.demo.service", "--service", plan.name,
               "--replica", str(replica), "--mode", mode, "--source-addr", addr,
               "--server-host", server.host, "--server-port", str(server.port),
               "--user", SERVICE_ROLE, "--dbname", DBNAME, "--pool-max", str(plan.pool_max),
               "--workers", str(plan.workers), "--active", str(incident.reporting_active)]
        env = dict(os.environ)
        env.pop("PG_POOL_MAX_SIZE", None)
        if mode == "shared":
            env["PG_POOL_MAX_SIZE"] = str(plan.pool_max)
        self._log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            start_new_session=True,  # Ctrl-C in the terminal goes to pgmedic, which stops us
        )
        self._reader = threading.Thread(target=self._read, args=(incident,), daemon=True,
                                        name=f"demo-{plan.name}-{replica}")
        self._reader.start()

    def _read(self, incident: Incident) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                data = json.loads(raw)
                incident._add_event(float(data["at"]), str(data["service"]),
                                    int(data["replica"]), str(data["kind"]),
                                    str(data["message"]), int(data.get("count", 1)))
            except (ValueError, KeyError, TypeError):
                continue

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 6.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


class Incident:
    """The embedded server and its simulated services; a context manager. See the module doc."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        reserved_connections: int = 3,
        superuser_reserved_connections: int = 3,
        checkout_replicas: int = 2,
        checkout_workers: int = 6,
        checkout_pool_max: int = 10,
        fix_pool_max: int = 5,
        billing_replicas: int = 3,
        billing_pool_max: int = 5,
        reporting_active: int = 2,
        bin_dir: Path | None = None,
    ) -> None:
        self.bin_dir = bin_dir or default_bin_dir()
        self.max_connections = max_connections
        self.superuser_reserved_connections = superuser_reserved_connections
        self.reserved_connections = reserved_connections
        self.reporting_active = reporting_active
        self.fix_pool_max = fix_pool_max
        self.checkout = ServicePlan(CHECKOUT, checkout_replicas, checkout_pool_max,
                                    2 + checkout_workers, "per-instance", checkout_workers)
        self.billing = ServicePlan(BILLING, billing_replicas, billing_pool_max, 1, "shared", 3)
        self.reporting = ServicePlan(REPORTING, 1, 1 + reporting_active, 1, "reporting", 0)
        self.server: EmbeddedServer = EmbeddedServer(max_connections=max_connections)
        self.operator_role = OPERATOR_ROLE
        self.workdir: Path | None = None
        self.started_at = 0.0
        self.fixed_at: float | None = None
        self._children: list[_Child] = []
        self._addr: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()
        self._deploy_lock = threading.Lock()
        self._events: deque[ServiceEvent] = deque(maxlen=5000)
        self._seq = 0
        self._counts: dict[str, dict[str, int]] = {}
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Incident:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 25.0) -> Incident:
        """Server, roles, then the services (the healthy ones first, then checkout-api).

        Returns once the server accepts the operator and checkout-api's replicas are
        launched; :meth:`wait_saturated` waits for the slots to run out.
        """
        self.started_at = time.time()
        if importlib.util.find_spec("psycopg_pool") is None:
            raise PgmedicError("the demo's services need psycopg_pool",
                               "install it with: pip install 'pgmedic[demo]'")
        major = server_major(self.bin_dir)
        settings: dict[str, str] = {}
        if major >= 16 and self.reserved_connections > 0:
            settings["reserved_connections"] = str(self.reserved_connections)
        else:
            self.reserved_connections = 0
        self.workdir = Path(tempfile.mkdtemp(prefix="pgmedic-demo-"))
        self.server = EmbeddedServer(
            max_connections=self.max_connections, bin_dir=self.bin_dir, settings=settings,
            superuser_reserved_connections=self.superuser_reserved_connections,
            watchdog=True, cleanup=[self.workdir])
        try:
            self.server.start()
            self._create_roles(major)
            deadline = time.monotonic() + timeout
            for plan in (self.reporting, self.billing):
                for replica in range(1, plan.replicas + 1):
                    self._spawn(plan, replica, plan.mode)
            # the healthy services get their connections first, as they had before the deploy
            if not self._wait(lambda: self.connections_by_service().get(BILLING, 0)
                              >= self.billing.wanted or self._dead_child() is not None,
                              deadline) or self._dead_child() is not None:
                raise PgmedicError(f"the demo's services did not start: {self._why()}")
            for replica in range(1, self.checkout.replicas + 1):
                self._spawn(self.checkout, replica, self.checkout.mode)
        except BaseException:
            self.stop()
            raise
        return self

    def _dead_child(self) -> _Child | None:
        with self._lock:
            return next((c for c in self._children if not c.alive()), None)

    def _why(self) -> str:
        child = self._dead_child()
        if child is None:
            return "billing-worker got no connections in time"
        child._log.flush()
        try:
            text = child._log_path.read_text(errors="replace").strip()
        except OSError:
            text = ""
        last = text.splitlines()[-1] if text else f"exit code {child.proc.poll()}"
        return f"{child.plan.name} replica {child.replica}: {last}"

    def _wait(self, predicate: Any, deadline: float, interval: float = 0.1) -> bool:
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return False

    def wait_saturated(self, timeout: float = 30.0, headroom: int = 0) -> bool:
        """Wait until every slot ordinary roles can get is taken (minus headroom).

        Every client backend counts (the operator's too): a slot is a slot.
        """
        limit = self.usable_slots - headroom
        # + 1: the short connection that looks is one of them
        return self._wait(lambda: sum(self.connections_by_service().values()) + 1 >= limit,
                          time.monotonic() + timeout, 0.2)

    def _create_roles(self, major: int) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE ROLE {SERVICE_ROLE} LOGIN")
            conn.execute(f"CREATE DATABASE {DBNAME} OWNER {SERVICE_ROLE}")
            if major >= 16 and self.reserved_connections > 0:
                conn.execute(f"CREATE ROLE {OPERATOR_ROLE} LOGIN")
                conn.execute(f"GRANT pg_monitor, pg_signal_backend, pg_use_reserved_connections"
                             f" TO {OPERATOR_ROLE}")
            else:  # no reserved_connections before 16: the superuser's reserved slots
                self.operator_role = "postgres"

    def _address(self, service: str, replica: int) -> str:
        with self._lock:
            key = (service, replica)
            if key not in self._addr:
                self._addr[key] = f"127.0.0.{2 + len(self._addr)}"
            return self._addr[key]

    def _spawn(self, plan: ServicePlan, replica: int, mode: str) -> _Child:
        assert self.workdir is not None
        addr = self._address(plan.name, replica)
        child = _Child(self, plan, replica, addr, mode,
                       self.workdir / f"{plan.name}-{replica}.log")
        with self._lock:
            self._children.append(child)
        return child

    def stop(self) -> None:
        """Stop the services, the server and the watchdog; remove every file. Idempotent."""
        with self._lock:
            children, self._children = self._children, []
            self._stopped = True
        for child in children:  # SIGTERM all first, then wait: faster than one by one
            if child.alive():
                with contextlib.suppress(OSError):
                    child.proc.send_signal(signal.SIGTERM)
        for child in children:
            child.stop()
        self.server.stop()  # and its watchdog, and the work directory
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- connecting ----------------------------------------------------------------------
    @property
    def operator_dsn(self) -> str:
        """libpq key=value conninfo for pgmedic (or psql): can use the reserved slots."""
        return self.server.dsn(user=self.operator_role, dbname=DBNAME)

    @property
    def operator_url(self) -> str:
        """The same as a URI: ``postgresql://triage@127.0.0.1:PORT/app``."""
        return self.server.url(user=self.operator_role, dbname=DBNAME)

    @property
    def service_dsn(self) -> str:
        """What the services use (role ``app``; no reserved slot)."""
        return self.server.dsn(user=SERVICE_ROLE, dbname=DBNAME)

    @property
    def admin_dsn(self) -> str:
        """The superuser, for setup and tests (superuser_reserved_connections apply)."""
        return self.server.dsn(user="postgres", dbname="postgres")

    @property
    def usable_slots(self) -> int:
        """Slots an ordinary role (the services) can get."""
        return (self.max_connections - self.superuser_reserved_connections
                - self.reserved_connections)

    # -- what happened -------------------------------------------------------------------
    def _add_event(self, at: float, service: str, replica: int, kind: str, message: str,
                   count: int = 1) -> None:
        with self._lock:
            self._seq += 1
            self._events.append(ServiceEvent(self._seq, at, service, replica, kind, message,
                                             count))
            kinds = self._counts.setdefault(service, {})
            kinds[kind] = kinds.get(kind, 0) + count

    def events_since(self, seq: int = 0) -> list[ServiceEvent]:
        """Events with ``seq`` > the given one, oldest first (pass the last seq you saw).

        The last 5000 events are kept; counters in :meth:`stats` are complete.
        """
        with self._lock:
            return [ev for ev in self._events if ev.seq > seq]

    def stats(self) -> IncidentStats:
        with self._lock:
            counts = {name: dict(kinds) for name, kinds in self._counts.items()}
        return IncidentStats(self.started_at, self.fixed, self.fixed_at, self.max_connections,
                             self.reserved_connections, self.superuser_reserved_connections,
                             counts)

    @property
    def fixed(self) -> bool:
        return self.fixed_at is not None

    def plans(self) -> list[ServicePlan]:
        """The services as deployed now (the budget math's input; checkout changes on fix)."""
        return [self.checkout, self.billing, self.reporting]

    def replica_addresses(self) -> dict[str, list[str]]:
        with self._lock:
            out: dict[str, list[str]] = {}
            for (service, _), addr in sorted(self._addr.items()):
                out.setdefault(service, []).append(addr)
            return out

    def child_pids(self) -> list[int]:
        with self._lock:
            pids = [c.pid for c in self._children if c.alive()]
        dog = self.server.watchdog_pid()
        if dog is not None:
            pids.append(dog)
        return pids

    def connections_by_service(self) -> dict[str, int]:
        """Client backends per application_name (a short superuser connection; tests/bench).

        Not for the TUI: it has its own one connection.
        """
        import psycopg

        try:
            with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=5,
                                 application_name="pgmedic-demo-admin") as conn:
                rows = conn.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    " GROUP BY 1").fetchall()
        except psycopg.OperationalError:
            return {}
        return {str(app): int(n) for app, n in rows}

    # -- the fix -------------------------------------------------------------------------
    def deploy_fix(self, timeout: float = 20.0) -> None:
        """Roll checkout-api to one shared pool per process (PG_POOL_MAX_SIZE), replica by
        replica. Blocks a few seconds: call it from a worker thread. Idempotent."""
        with self._deploy_lock:
            if self.fixed or self._stopped:
                return
            self._add_event(time.time(), CHECKOUT, 0, "deploy",
                            f"deploying the fix: one shared pool per process, "
                            f"PG_POOL_MAX_SIZE={self.fix_pool_max}")
            fixed_plan = ServicePlan(CHECKOUT, self.checkout.replicas, self.fix_pool_max, 1,
                                     "shared", self.checkout.workers)
            with self._lock:
                old = [c for c in self._children if c.plan.name == CHECKOUT]
            for child in old:
                child.stop(timeout=min(timeout, 6.0))
                with self._lock:
                    if self._stopped:
                        return
                    self._children.remove(child)
                self._spawn(fixed_plan, child.replica, "shared")
            self.checkout = fixed_plan
            self.fixed_at = time.time()
            self._add_event(self.fixed_at, CHECKOUT, 0, "deployed",
                            f"checkout-api restarted with one shared pool of "
                            f"{self.fix_pool_max} per process")
