"""The wheel as a new user gets it: built, installed into a fresh virtual environment,
run from a directory outside the source tree.

The slow test of the suite (a build, a venv, a demo): marked ``slow``; ``-m "not slow"``
leaves it out. It stays offline when it can: the wheel is built without build isolation
when hatchling is importable (the ``test`` extra installs it), and the fresh venv gets the
wheel with ``--no-deps``; its dependencies come from this interpreter's site-packages
through a ``.pth`` line (a path entry only: the editable install's own ``.pth`` there is
not processed, so ``pgmedic`` can only come from the wheel, which the test checks).
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import signal
import subprocess
import sys
import sysconfig
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import pgmedic

pytestmark = [pytest.mark.slow, pytest.mark.pg]

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src" / "pgmedic"


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def build_wheel(out: Path, source: Path = REPO) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.append("--no-build-isolation")  # fast and offline; else pip fetches hatchling
    done = subprocess.run([*cmd, str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    wheels = sorted(out.glob("pgmedic-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


class Installed:
    """A fresh venv with the wheel in it and a clean environment to run it in."""

    def __init__(self, root: Path, wheel: Path) -> None:
        self.root = root
        self.home = root / "home"  # cwd: outside the source tree
        self.home.mkdir()
        prefix = root / "venv"
        venv.EnvBuilder(with_pip=False).create(prefix)
        self.bin = prefix / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        purelib = Path(run([str(self.python), "-c",
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           self.home, dict(os.environ)).stdout.strip())
        done = run([sys.executable, "-m", "pip", "--python", str(self.python), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)], self.home,
                   dict(os.environ), timeout=300)
        assert done.returncode == 0, done.stderr
        self.site_packages = purelib
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (purelib / "_pgmedic_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PGMEDIC_WEBHOOK_URL")}
        self.env.update(PGMEDIC_CONFIG_DIR=str(root / "config"),
                        PGMEDIC_STATE_DIR=str(root / "state"), COLUMNS="400",
                        PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}")

    def pgmedic(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run([str(self.bin / "pgmedic"), *args], self.home, self.env, timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Installed:
    return Installed(tmp_path_factory.mktemp("fresh"), wheel)


def test_wheel_holds_the_runbooks_styles_and_sql(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {f"pgmedic/{p.relative_to(SRC).as_posix()}" for p in SRC.rglob("*")
            if p.is_file() and p.suffix in (".sql", ".tcss")}
    assert data and data <= names, sorted(data - names)
    runbooks = {f"pgmedic/_runbooks/{p.name}" for p in (REPO / "runbooks").glob("*.md")}
    assert "pgmedic/_runbooks/pool-exhaustion.md" in runbooks
    assert runbooks <= names, sorted(runbooks - names)
    assert not [n for n in names if n.startswith(("tests/", "runbooks/", "src/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "pgmedic = pgmedic.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_pgmedic_finds_the_bundled_runbook(installed: Installed) -> None:
    where = run([str(installed.python), "-c", "import pgmedic; print(pgmedic.__file__)"],
                installed.home, installed.env)
    assert Path(where.stdout.strip()).is_relative_to(installed.site_packages), where

    version = installed.pgmedic("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"pgmedic {pgmedic.__version__}"

    listed = installed.pgmedic("runbook")
    assert listed.returncode == 0, listed.stderr
    bundled = installed.site_packages / "pgmedic" / "_runbooks" / "pool-exhaustion.md"
    assert "pool-exhaustion" in listed.stdout
    assert f"bundled: {bundled}" in listed.stdout, listed.stdout

    checked = installed.pgmedic("runbook", "check", str(bundled))
    assert checked.returncode == 0, checked.stderr
    assert "ok, runbook pool-exhaustion with 7 steps" in checked.stdout

    helped = installed.pgmedic("demo", "--help")
    assert helped.returncode == 0 and "--headless" in helped.stdout, helped.stderr
    imports = run([str(installed.python), "-c", "import pgmedic.demo.incident, "
                   "pgmedic.demo.service, pgmedic.demo.reaper, pgmedic.tui.app"],
                  installed.home, installed.env)
    assert imports.returncode == 0, imports.stderr


@pytest.fixture
def demo(installed: Installed) -> Iterator[str]:
    """`pgmedic demo --headless` from the wheel: its conninfo, stopped by SIGTERM after."""
    proc = subprocess.Popen([str(installed.bin / "pgmedic"), "demo", "--headless", "--quiet"],
                            cwd=installed.home, env=installed.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout=90)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith("postgresql://"):
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the installed demo did not start: {line!r} {err}")
        yield line
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == 0


def test_installed_demo_runs_the_bundled_runbook(installed: Installed, demo: str) -> None:
    bundled = installed.site_packages / "pgmedic" / "_runbooks" / "pool-exhaustion.md"
    deadline = time.monotonic() + 60
    while True:  # poll until the buggy service has taken the slots and is named
        done = installed.pgmedic("runbook", "run", "pool-exhaustion", demo, "--json")
        assert done.returncode in (0, 1), done.stderr  # 1: a check failed, as it should
        report = json.loads(done.stdout)
        offender = report.get("offender") or {}
        if offender.get("service") == "checkout-api":
            break
        assert time.monotonic() < deadline, f"no offender named: {report}"
        time.sleep(0.5)
    assert report["source"] == str(bundled)
    assert report["verdict"] == "fail"


def test_sdist_builds_a_wheel_with_the_runbooks(tmp_path: Path) -> None:
    """What pip does with the sdist when no wheel fits: the runbooks must survive it."""
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling not installed (pip install -e '.[test]')")
    done = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d",
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    (sdist,) = tmp_path.glob("pgmedic-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        if hasattr(tarfile, "data_filter"):  # 3.11.4+; 3.12+ warns without a filter
            tar.extractall(tmp_path / "x", filter="data")
        else:
            tar.extractall(tmp_path / "x")  # noqa: S202 - our own sdist
    assert {"runbooks/pool-exhaustion.md", "CHANGELOG.md", "README.md",
            "scripts/screenshots.py"} <= names
    assert not [n for n in names if n.startswith(("bench/", ".venv/", "docs/"))]
    wheel = build_wheel(tmp_path / "dist", source=tmp_path / "x" / sdist.name[:-7])
    assert "pgmedic/_runbooks/pool-exhaustion.md" in zipfile.ZipFile(wheel).namelist()
