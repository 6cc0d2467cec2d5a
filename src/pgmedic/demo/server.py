"""An embedded PostgreSQL: a fresh data directory, TCP on loopback, stopped and removed on exit.

Binaries come from the ``pgserver`` wheel by default (no system PostgreSQL needed), or from
``bin_dir`` (for example ``/usr/lib/postgresql/15/bin``) to test against another major version.
When run as root, the server runs as an unprivileged system user, as PostgreSQL requires.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgmedic.errors import PgmedicError

SERVER_USER = "pgserver"  # the system user pgserver itself uses when run as root


def default_bin_dir() -> Path:
    env = os.environ.get("PGMEDIC_PG_BIN")
    if env:
        return Path(env)
    # located without importing pgserver: its import has side effects (and warnings)
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgmedicError(
            "the embedded PostgreSQL is not installed",
            "install it with: pip install 'pgmedic[demo]'",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def ensure_system_user(name: str) -> None:
    """PostgreSQL refuses to run as root: make sure an unprivileged user exists."""
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True,
                       capture_output=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedServer:
    """A throw-away PostgreSQL cluster listening on 127.0.0.1.

    >>> with EmbeddedServer(max_connections=100) as srv:
    ...     srv.dsn()   # 'host=127.0.0.1 port=... user=postgres dbname=postgres'
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        superuser_reserved_connections: int = 3,
        bin_dir: Path | None = None,
        settings: dict[str, str] | None = None,
        listen: Sequence[str] = ("127.0.0.1",),
        hba: Sequence[str] = (),
        watchdog: bool = False,
        cleanup: Sequence[Path] = (),
    ) -> None:
        self.bin_dir = bin_dir or default_bin_dir()
        self.max_connections = max_connections
        self.superuser_reserved_connections = superuser_reserved_connections
        self.settings = dict(settings or {})
        self.listen = tuple(listen)
        self.hba = tuple(hba)  # pg_hba.conf lines placed before the trust lines
        # a watchdog process stops the server and removes its files (and ``cleanup``) when
        # this process dies, even by SIGKILL: no orphaned postgres, ever
        self.watchdog = watchdog
        self.cleanup = tuple(cleanup)
        self._watchdog: subprocess.Popen[bytes] | None = None
        self.host = self.listen[0]
        self.port = 0
        self.base: Path | None = None
        self.pgdata: Path | None = None
        self.socket_dir: Path | None = None
        self._run_as: str | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        extra: dict[str, Any] = {}
        if self._run_as:
            extra["user"] = self._run_as
            extra["group"] = self._run_as
        return subprocess.run(
            args, check=True, capture_output=True, text=True, **extra, **kwargs
        )

    def start(self) -> None:
        if self._started:
            return
        self.base = Path(tempfile.mkdtemp(prefix="pgmedic-pg-"))
        self.pgdata = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.socket_dir.mkdir()
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self._prepare_root()
        initdb = self.bin_dir / "initdb"
        try:
            self._run(
                [str(initdb), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--no-sync"],
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            self._remove()
            detail = getattr(exc, "stderr", "") or str(exc)
            raise PgmedicError(
                f"could not create the embedded PostgreSQL: {detail.strip()}") from exc
        self._write_config()
        atexit.register(self.stop)
        self._started = True
        self._start_postmaster()
        if self.watchdog:
            self._start_watchdog()

    def _start_watchdog(self) -> None:
        assert self.pgdata is not None and self.base is not None
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "pgmedic.demo.reaper", str(self.pgdata), str(self.base),
             *(str(p) for p in self.cleanup)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def watchdog_pid(self) -> int | None:
        dog = self._watchdog
        return dog.pid if dog is not None and dog.poll() is None else None

    def _stop_watchdog(self) -> None:
        dog, self._watchdog = self._watchdog, None
        if dog is None:
            return
        if dog.stdin is not None:
            with contextlib.suppress(OSError):
                dog.stdin.close()  # EOF: the watchdog cleans up (already done) and exits
        try:
            dog.wait(10)
        except subprocess.TimeoutExpired:
            dog.kill()
            dog.wait(5)

    def _prepare_root(self) -> None:
        ensure_system_user(SERVER_USER)
        self._run_as = SERVER_USER
        assert self.base is not None and self.socket_dir is not None
        shutil.chown(self.base, SERVER_USER, SERVER_USER)
        shutil.chown(self.socket_dir, SERVER_USER, SERVER_USER)
        os.chmod(self.base, 0o755)
        # every directory above the data and above the binaries must be traversable by the
        # server's user (a clone in a `mktemp -d` directory is 0700 otherwise)
        install = self.bin_dir.resolve().parent
        for parent in [*self.base.parents, install, *install.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)

    def _write_config(self) -> None:
        assert self.pgdata is not None and self.socket_dir is not None
        self.port = free_port(self.host)
        conf = {
            "listen_addresses": ",".join(self.listen),
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": str(self.max_connections),
            "superuser_reserved_connections": str(self.superuser_reserved_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
            "logging_collector": "off",
            "log_min_messages": "fatal",
            "max_wal_senders": "0",
            "wal_level": "minimal",
        }
        conf.update(self.settings)
        lines = [f"{k} = '{v}'" for k, v in conf.items()]
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write("\n# pgmedic embedded server\n" + "\n".join(lines) + "\n")
        # trust on loopback: a throw-away cluster, never reachable from outside
        with open(self.pgdata / "pg_hba.conf", "w", encoding="utf-8") as fh:
            fh.write(
                "".join(line + "\n" for line in self.hba) +
                "local all all trust\n"
                "host all all 127.0.0.0/8 trust\n"
                "host all all ::1/128 trust\n"
            )

    def _start_postmaster(self) -> None:
        assert self.pgdata is not None and self.base is not None
        try:
            self._run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60",
                 "-l", str(self.base / "server.log"), "start"],
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            log = self.log_tail()
            self.stop()
            raise PgmedicError(f"the embedded PostgreSQL did not start: {log or exc}") from exc

    def restart(self, *, mode: str = "fast") -> None:
        """Stop and start the server on the same port (for reconnect tests)."""
        self.stop_server(mode=mode)
        self._start_postmaster()

    def stop_server(self, *, mode: str = "fast") -> None:
        if self.pgdata is None or not (self.pgdata / "postmaster.pid").exists():
            return
        try:
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "30",
                       "-m", mode, "stop"])
        except (OSError, subprocess.CalledProcessError):
            self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        assert self.pgdata is not None
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    def stop(self) -> None:
        """Stop the server (immediate: it is throw-away) and remove its files. Idempotent."""
        if self._started:
            self._started = False
            self.stop_server(mode="immediate")
        self._remove()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
        self._stop_watchdog()

    def _remove(self) -> None:
        if self.base is not None and self.base.exists():
            shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        if self.base is None:
            return ""
        try:
            text = (self.base / "server.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    # -- connecting ----------------------------------------------------------------------
    def dsn(self, user: str = "postgres", dbname: str = "postgres", host: str | None = None,
            **extra: str) -> str:
        parts = {"host": host or self.host, "port": str(self.port), "user": user,
                 "dbname": dbname, **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def url(self, user: str = "postgres", dbname: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def psql_command(self, sql: str, user: str = "postgres") -> list[str]:
        return [str(self.bin_dir / "psql"), "-X", "-q", "-d", self.dsn(user=user), "-c", sql]
