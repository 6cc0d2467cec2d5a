"""Shared by the bench scripts: the server with many sessions, statistics, the machine, ptys.

Not a test helper: the scripts print figures, nothing here asserts a target.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import resource
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APP_PREFIX = "bench-app"
MIX = "idle=0.7,active=0.1,xact=0.2"  # of the opened sessions


# -- the machine -------------------------------------------------------------------------------

def machine(pg_version: str = "") -> dict[str, str]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "ram": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "postgresql": pg_version or "?",
        "load": load(),
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def print_machine(info: dict[str, str]) -> None:
    for key, value in info.items():
        print(f"  {key:<11} {value}")


# -- statistics and the table ------------------------------------------------------------------

@dataclass
class Series:
    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.rjust(w) if n and i else c.ljust(w)
                                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                     + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


# -- the server and its sessions ---------------------------------------------------------------

def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Bench:
    """An embedded server sized for ``max_sessions`` plus a session-holding child process."""

    def __init__(self, max_sessions: int) -> None:
        from pgmedic.demo.server import EmbeddedServer

        raise_nofile()
        # 5,000 backends: small per-backend memory, bigger shared buffers, no parallelism
        self.server = EmbeddedServer(max_connections=max_sessions + 60, settings={
            "shared_buffers": "128MB",
            "max_worker_processes": "4",
            "max_parallel_workers_per_gather": "0",
            "client_connection_check_interval": "1s",
            "max_files_per_process": "200",
            "dynamic_shared_memory_type": "posix",
        })
        self.holder: subprocess.Popen[str] | None = None
        self.open_sessions = 0
        self.state_dir = tempfile.mkdtemp(prefix="pgmedic-bench-state-")
        os.environ["PGMEDIC_STATE_DIR"] = self.state_dir
        os.environ["PGMEDIC_CONFIG_DIR"] = self.state_dir

    def __enter__(self) -> Bench:
        self.server.start()
        import psycopg

        # the sessions log in as an ordinary role, as applications do
        with psycopg.connect(self.server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE ROLE app LOGIN")
        self.holder = subprocess.Popen(
            [sys.executable, str(HERE / "sessions.py"), self.server.url()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _command(self, line: str) -> int:
        assert self.holder is not None and self.holder.stdin and self.holder.stdout
        self.holder.stdin.write(line + "\n")
        self.holder.stdin.flush()
        answer = self.holder.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"sessions: {answer or 'no answer'}")
        self.open_sessions = int(answer.split()[1])
        return self.open_sessions

    def open(self, count: int, *, prefix: str = APP_PREFIX, apps: int = 20, mix: str = MIX,
             ) -> int:
        """Open ``count`` more sessions; returns the client sessions now open."""
        if count <= 0:
            return self.open_sessions
        return self._command(f"open {prefix} {apps} {count} {mix}")

    def grow_to(self, total: int, **kw: Any) -> int:
        return self.open(total - self.count(), **kw)

    def count(self) -> int:
        return self._command("count")

    def pg_version(self) -> str:
        import psycopg

        with psycopg.connect(self.server.dsn()) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'} (pgserver wheel, embedded)"

    def backends(self) -> int:
        import psycopg

        with psycopg.connect(self.server.dsn()) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                               "WHERE backend_type = 'client backend'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self.holder is not None:
            with contextlib.suppress(Exception):
                assert self.holder.stdin is not None
                self.holder.stdin.write("quit\n")
                self.holder.stdin.close()
            try:
                self.holder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()
            self.holder = None
        self.server.stop()
        import shutil

        shutil.rmtree(self.state_dir, ignore_errors=True)


# -- pseudo-terminals --------------------------------------------------------------------------

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]"
                  rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
                  rb"|\x1b[()][0-9A-B]|\x1b[=>78DEHMc]")


#: terminal queries a real xterm answers; blessed (pg_activity) waits 5 s for the answers
QUERIES = re.compile(rb"\x1b\[6n|\x1bP\+q([0-9a-fA-F]*)\x1b\\|\x1b\[>0?q|\x1b\[0?c"
                     rb"|\x1b\[\?(\d+)\$p")


def answers(chunk: bytes) -> bytes:
    """What an xterm-like terminal replies to the queries in ``chunk``."""
    out = bytearray()
    for m in QUERIES.finditer(chunk):
        q = m.group(0)
        if q == b"\x1b[6n":
            out += b"\x1b[1;1R"  # cursor position report
        elif q.startswith(b"\x1bP+q"):
            out += b"\x1bP0+r" + (m.group(1) or b"") + b"\x1b\\"  # XTGETTCAP: unknown
        elif q.startswith(b"\x1b[>"):
            out += b"\x1bP>|xterm(390)\x1b\\"  # XTVERSION
        elif q.endswith(b"c"):
            out += b"\x1b[?62;22c"  # primary device attributes
        else:
            out += b"\x1b[?" + (m.group(2) or b"0") + b";0$y"  # DECRQM: not recognized
    return bytes(out)


@dataclass
class PtyProcess:
    proc: subprocess.Popen[bytes]
    fd: int
    started: float
    output: bytearray = field(default_factory=bytearray)

    def read_for(self, seconds: float) -> bytes:
        """Read whatever arrives for ``seconds``; returns it (also kept in ``output``)."""
        got = bytearray()
        deadline = time.perf_counter() + seconds
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._answer(chunk)
            got += chunk
        self.output += got
        return bytes(got)

    def wait_for(self, marker: bytes, timeout: float, *, new_only: bool = False,
                 ) -> float | None:
        """Seconds from launch until ``marker`` shows in the (escape-stripped) output;
        ``new_only``: only in output that arrives from now on."""
        deadline = time.perf_counter() + timeout
        start_at = len(self.output) if new_only else 0
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.005)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return None
                if not chunk:
                    return None
                now = time.perf_counter()
                self._answer(chunk)
                self.output += chunk
                # escapes can split a marker: search the stripped tail since the last miss
                text = ANSI.sub(b"", bytes(self.output[start_at:]))
                if marker in text:
                    return now - self.started
                start_at = max(start_at, len(self.output) - 4096)
            elif self.proc.poll() is not None:
                return None
        return None

    def _answer(self, chunk: bytes) -> None:
        reply = answers(chunk)
        if reply:
            with contextlib.suppress(OSError):
                os.write(self.fd, reply)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def quit(self, key: bytes = b"q", timeout: float = 5.0) -> int:
        """Send ``key``, drain the output, wait for the exit; killed if it does not exit."""
        with contextlib.suppress(OSError):
            self.send(key)
        deadline = time.perf_counter() + timeout
        while self.proc.poll() is None and time.perf_counter() < deadline:
            self.read_for(0.05)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.fd)
        return int(self.proc.returncode)


def spawn_in_pty(argv: Sequence[str], *, cols: int = 140, rows: int = 40,
                 env: dict[str, str] | None = None) -> PtyProcess:
    """Start ``argv`` with a pseudo-terminal of ``cols`` x ``rows`` as its terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = dict(os.environ)
    full_env.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows),
                     "COLORTERM": "truecolor"})
    full_env.update(env or {})
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=full_env,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    return PtyProcess(proc, master, started)


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a process (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def section(title: str) -> Iterator[None]:
    print(f"\n== {title} ==", flush=True)
    t0 = time.perf_counter()
    yield
    print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
