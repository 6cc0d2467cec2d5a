"""Watchdog of the demo: when its parent is gone, stop the embedded server and remove files.

``python -m pgmedic.demo.reaper PGDATA BASE [DIR...]`` waits for EOF on stdin (the parent
closes it on a clean stop, the kernel does when the parent dies, even by SIGKILL), then
signals the postmaster (SIGQUIT: immediate shutdown, then SIGKILL) and removes BASE and DIRs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path


def kill_postmaster(pgdata: Path) -> None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises once it is gone
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m pgmedic.demo.reaper PGDATA BASE [DIR...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    kill_postmaster(Path(argv[0]))
    for path in argv[1:]:
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
