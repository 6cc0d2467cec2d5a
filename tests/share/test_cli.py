"""`pgmedic share` end to end: a subprocess against the real test server and a real local
webhook receiver. Secrets (the webhook's token, the conninfo's password) appear nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from share_incident import HOSTILE, SECRET, incident_events

from pgmedic import paths
from pgmedic.report.timeline import SHARED
from pgmedic.store import TimelineStore
from pgtools import Sessions, dsn_as
from share_receiver import Receiver

PASSWORD = "Pw0rdN3verShown"

pytestmark = pytest.mark.pg


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "pgmedic", "share", *args], env=full,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def timeline() -> TimelineStore:
    """The article's incident, hostile names included, saved in the isolated state dir."""
    store = TimelineStore.new()
    for e in incident_events(app="<!channel> *checkout* @here", operator="@everyone"):
        store.add(e.kind, e.title, **e.data)
    return store


@pytest.fixture
def conninfo(dsn: str) -> str:
    return dsn_as(dsn, password=PASSWORD)  # the test server trusts local clients


def saved_files() -> list[Path]:
    return sorted(p for p in paths.reports_dir().glob("*") if p.is_file())


def no_secrets(proc: subprocess.CompletedProcess[str], *files: Path) -> None:
    texts = [proc.stdout, proc.stderr] + [f.read_text(encoding="utf-8") for f in files]
    for text in texts:
        assert SECRET not in text and PASSWORD not in text


def test_posts_one_well_formed_summary(receiver: Receiver, timeline: TimelineStore,
                                       conninfo: str) -> None:
    proc = run(conninfo, "--webhook", receiver.url(), "--note", "rolled back")
    assert proc.returncode == 0, proc.stderr
    (req,) = receiver.requests
    body = req.json()  # loopback: plain JSON unless --format
    summary = body["summary"]
    assert summary["offender"]["service"] == "<!channel> *checkout* @here"  # JSON: literal
    assert summary["now"]["usable"] > 0 and summary["before"]["used"] == 96
    assert summary["note"] == "rolled back" and summary["queries"] == []
    assert f"http://127.0.0.1:{receiver.port}/…" in proc.stdout
    files = saved_files()
    assert {p.suffix for p in files} == {".md", ".json"}
    no_secrets(proc, *files)
    reopened = TimelineStore.open(timeline.path).timeline
    shared = reopened.last(SHARED)
    assert shared is not None and SECRET not in json.dumps(shared.data)


@pytest.mark.parametrize("fmt", ["slack", "mattermost", "discord", "teams"])
def test_hostile_names_arrive_inert(receiver: Receiver, timeline: TimelineStore,
                                    conninfo: str, fmt: str, sessions: Sessions) -> None:
    sessions.open("<!channel>")
    proc = run(conninfo, "--webhook", receiver.url(), "--format", fmt, "--note", "@channel")
    assert proc.returncode == 0, proc.stderr
    (req,) = receiver.requests
    raw = req.body.decode()
    text = json.dumps(req.json(), ensure_ascii=False)
    for active in ("<!channel>", "@here", "@everyone", "@channel", "*checkout*"):
        assert active not in text, active
    assert "\\u001b" not in raw
    if fmt == "discord":
        assert req.json()["allowed_mentions"] == {"parse": []}


def test_429_then_200_succeeds(receiver: Receiver, timeline: TimelineStore,
                               conninfo: str) -> None:
    receiver.reply(429, "rate_limited", Retry_After="1")
    proc = run(conninfo, "--webhook", receiver.url(), "--format", "slack")
    assert proc.returncode == 0, proc.stderr
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_persistent_500_keeps_the_summary(receiver: Receiver, timeline: TimelineStore,
                                          conninfo: str) -> None:
    receiver.default.status = 500
    proc = run(conninfo, "--webhook", receiver.url())
    assert proc.returncode == 1
    assert len(receiver.requests) == 3  # bounded
    md = next(p for p in saved_files() if p.suffix == ".md")
    assert str(md) in proc.stderr and "HTTP 500" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "<!channel>" not in md.read_text() and "&lt;\\!channel&gt;" in md.read_text()
    no_secrets(proc, *saved_files())


def test_revoked_slack_hook_is_explained(receiver: Receiver, timeline: TimelineStore,
                                         conninfo: str) -> None:
    receiver.reply(404, "no_service")
    proc = run(conninfo, "--webhook", receiver.url(), "--format", "slack")
    assert proc.returncode == 1 and len(receiver.requests) == 1
    assert "revoked" in proc.stderr and "kept in" in proc.stderr
    no_secrets(proc)


def test_dry_run_prints_and_sends_nothing(receiver: Receiver, timeline: TimelineStore,
                                          conninfo: str) -> None:
    proc = run(conninfo, "--dry-run", "--format", "discord",
               env={"PGMEDIC_WEBHOOK_URL": receiver.url()})
    assert proc.returncode == 0, proc.stderr
    assert receiver.requests == []
    payload = json.loads(proc.stdout)
    assert payload["allowed_mentions"] == {"parse": []}
    no_secrets(proc, *saved_files())


def test_output_file_and_config_named_variable(receiver: Receiver, timeline: TimelineStore,
                                               conninfo: str, tmp_path: Path) -> None:
    paths.ensure_parent(paths.config_file()).write_text('webhook_url_env = "TEAM_HOOK"\n')
    out = tmp_path / "postmortem" / "incident.md"
    proc = run(conninfo, "--output", str(out), env={"TEAM_HOOK": receiver.url()})
    assert proc.returncode == 0, proc.stderr
    assert len(receiver.requests) == 1
    assert out.read_text().startswith("# PostgreSQL connection slots")
    data = json.loads(Path(str(out) + ".json").read_text())
    assert data["schema"] == 1 and data["offender"]["connections"] == 90
    no_secrets(proc, out, Path(str(out) + ".json"))


def test_queries_only_when_asked(receiver: Receiver, timeline: TimelineStore,
                                 conninfo: str, sessions: Sessions,
                                 unique_app: Callable[[str], str]) -> None:
    conn = sessions.open(unique_app("reporting"))
    conn.execute("SELECT 'card-4111-in-query'")
    proc = run(conninfo, "--webhook", receiver.url())
    assert proc.returncode == 0, proc.stderr
    assert "card-4111" not in receiver.requests[0].body.decode()
    proc = run(conninfo, "--webhook", receiver.url(), "--include-queries")
    assert proc.returncode == 0, proc.stderr
    queries: list[dict[str, Any]] = receiver.requests[1].json()["summary"]["queries"]
    assert any("card-4111-in-query" in q["query"] for q in queries)


@pytest.mark.parametrize(("args", "env", "words"), [
    (["--webhook", f"http://hooks.example.com/x/{SECRET}"], {}, "plain http"),
    (["--webhook", f"ftp://127.0.0.1/{SECRET}"], {}, "not an https"),
    ([], {"PGMEDIC_WEBHOOK_URL": f"http://10.1.2.3/{SECRET}"}, "PGMEDIC_WEBHOOK_URL"),
    ([], {}, "no webhook URL"),
    (["--format", "telegram", "--dry-run"], {}, "invalid choice"),
])
def test_bad_input_exits_2(args: list[str], env: dict[str, str], words: str,
                           conninfo: str) -> None:
    proc = run(conninfo, *args, env=env)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and proc.stderr.startswith("pgmedic: ")
    no_secrets(proc)


def test_connection_error_exits_2(receiver: Receiver) -> None:
    proc = run(f"host=127.0.0.1 port=1 password={PASSWORD} connect_timeout=2",
               "--webhook", receiver.url())
    assert proc.returncode == 2 and receiver.requests == []
    no_secrets(proc)


def test_hostile_live_names_in_the_markdown(receiver: Receiver, conninfo: str,
                                            sessions: Sessions) -> None:
    # no saved timeline: the live state only, said on stderr
    for name in HOSTILE[:3]:
        sessions.open(name)
    proc = run(conninfo, "--webhook", receiver.url(), "--include-queries", "--format", "slack")
    assert proc.returncode == 0, proc.stderr
    assert "live state only" in proc.stderr
    body = receiver.requests[0].body.decode()
    assert "<!channel>" not in body
