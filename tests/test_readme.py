"""The README's two commands, as a newcomer runs them: the demo in a real terminal, the tests.

The install halves are what CI itself runs on a clean clone (`.ci/run`); here the quickstart
command `pgmedic demo` runs in a pseudo-terminal until the incident is on screen, then `q`.
"""

from __future__ import annotations

import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[@-_]|\x1b\][^\x07]*\x07")

if sys.platform != "linux":  # pragma: no cover
    pytest.skip("pseudo-terminal test needs Linux", allow_module_level=True)

import fcntl  # noqa: E402
import termios  # noqa: E402


def quickstart_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def test_the_readme_commands_are_the_ones_ci_runs() -> None:
    install_and_demo, tests = quickstart_blocks()[:2]
    assert "pip install -e '.[demo]'" in install_and_demo
    assert install_and_demo.strip().endswith("pgmedic demo")
    assert tests.strip() == "pip install -e '.[test]' && python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -e '.[test]'" in ci and "python -m pytest" in ci


def postgres_pids() -> set[int]:
    out = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"postgres" in cmd and b"pgmedic-" in cmd:
                out.add(int(proc.name))
    return out


def test_pgmedic_demo_in_a_terminal_shows_the_incident_and_quits_clean() -> None:
    before = postgres_pids()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "45"}
    proc = subprocess.Popen([sys.executable, "-m", "pgmedic", "demo"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True,
                            close_fds=True)
    os.close(slave)
    seen = bytearray()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
            plain = ANSI.sub(b"", bytes(seen))
            if b"checkout-api" in plain and b"offender" in plain:
                break
            assert proc.poll() is None, ANSI.sub(b"", bytes(seen))[-2000:].decode(errors="replace")
        plain = ANSI.sub(b"", bytes(seen))
        assert b"checkout-api" in plain and b"offender" in plain, plain[-3000:]
        assert b"Traceback" not in plain
        os.write(master, b"q")
        # keep draining the terminal so the app can write its goodbye
        end = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    pass
        assert proc.returncode == 0, ANSI.sub(b"", bytes(seen))[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        os.close(master)
    # nothing of the demo's server is left behind
    end = time.monotonic() + 20
    while postgres_pids() - before and time.monotonic() < end:
        time.sleep(0.2)
    assert not postgres_pids() - before
