"""The embedded server leaves nothing behind, even when its owner is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pgtools import wait_until

OWNER = """
import sys, time
from pgmedic.demo.server import EmbeddedServer
srv = EmbeddedServer(max_connections=10, watchdog=True)
srv.start()
print(srv.base, flush=True)
time.sleep(600)
"""


def postmaster_alive(base: Path) -> bool:
    try:
        pid = int((base / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def test_sigkilled_owner_leaves_no_server_and_no_files() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        base = Path(owner.stdout.readline().strip())
        assert base.is_dir() and postmaster_alive(base)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        wait_until(lambda: not base.exists(), timeout=30, message="the watchdog's cleanup")
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
        if owner.stdout is not None:
            owner.stdout.close()
