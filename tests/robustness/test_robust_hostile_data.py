"""Hostile or odd data (issue 9, item 5), from real sessions on the real server: Rich markup,
terminal escapes (clear screen, OSC 52 clipboard), a right-to-left override and wide
characters, a 100-byte name (the server cuts it at 63 bytes, and since 16 first turns non-ASCII
bytes into \\xNN text), a hostile role name (role names keep every character), Unix-socket
sessions (NULL client address), ``idle in transaction (aborted)`` and parallel workers.

Whatever the server stores is the truth: pgmedic must show exactly that, literally (control
characters made visible), in ``snapshot`` (table and JSON), in the TUI and in ``share``.
"""

from __future__ import annotations

import json
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from rich.console import Console
from rich.text import Text

from pgmedic import cli
from pgmedic.demo.server import EmbeddedServer
from pgmedic.pg.connection import Connection
from pgmedic.pg.snapshot import collect
from pgmedic.render import groups_table
from pgmedic.triage.grouping import Group
from pgmedic.tui.app import PgmedicApp
from pgmedic.tui.widgets.groups import GroupsTable
from pgmedic.untrusted import cell_width, printable
from pgtools import Sessions, wait_until
from tuitools import until

UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def raw_unsafe(text: str) -> list[str]:
    return [ascii(c) for c in text if unicodedata.category(c) in UNSAFE and c != "\n"]


def raw_controls(text: str) -> list[str]:
    """For chat payloads: controls and bidi controls. Zero-width spaces are allowed there:
    the chat escapes put them into @channel and the like on purpose."""
    return [ascii(c) for c in text if c != "\n" and (
        unicodedata.category(c) == "Cc" or unicodedata.bidirectional(c) in BIDI_CONTROLS)]


BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI", "AL", "R"} - {
    "AL", "R"}


QUERY = "SELECT 1 /* \x1b[2J\x1b]52;c;aGk=\x07 <!channel> @here \u202e数据库 [b]q[/b] */"


@dataclass
class Hostile:
    tag: str
    role: str
    apps: dict[str, str] = field(default_factory=dict)  # what we sent -> what the server keeps
    counts: dict[str, int] = field(default_factory=dict)  # server name -> sessions
    states: dict[str, str] = field(default_factory=dict)  # server name -> state
    socket_app: str | None = None


@pytest.fixture(scope="module")
def hostile(dsn: str, pg_server: EmbeddedServer | None) -> Iterator[Hostile]:
    tag = uuid.uuid4().hex[:6]
    role = f"[red]r{tag}[/]\x1b[2J\u202e数据库"
    h = Hostile(tag, role)
    s = Sessions(dsn)
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
    try:
        def open_(sent: str, n: int = 1, state: str = "idle", **kw: Any,
                  ) -> list[psycopg.Connection[Any]]:
            conns = s.many(n, sent, state, **kw)
            (name,) = {admin.execute("SELECT application_name FROM pg_stat_activity "
                                     "WHERE pid = %s", (c.info.backend_pid,)).fetchone()[0]
                       for c in conns}  # type: ignore[index]
            h.apps[sent] = name
            h.counts[name] = n
            h.states[name] = state
            return conns

        for c in open_(f"[bold red]x{tag}[/]", 4):
            c.execute(QUERY)  # query text keeps raw control characters: the worst vector
        open_(f"\x1b[2J\x1b]52;c;aGk=\x07{tag}")
        open_(f"\u202e数据库{tag}")
        open_(tag + "é" * 50)  # 106 bytes of UTF-8
        open_(f"aborted-{tag}", 2, "idle in transaction (aborted)")
        open_(f"role-{tag}", dsn=psycopg.conninfo.make_conninfo(dsn, user=role))
        if pg_server is not None and pg_server.socket_dir is not None:
            sock = psycopg.conninfo.make_conninfo(dsn, host=str(pg_server.socket_dir))
            open_(f"sock-{tag}", 3, dsn=sock)
            h.socket_app = f"sock-{tag}"
        yield h
    finally:
        s.close()
        wait_until(lambda: admin.execute("SELECT count(*) = 0 FROM pg_stat_activity "
                                         "WHERE usename = %s", (role,)).fetchone()[0],  # type: ignore[index]
                   message="the hostile role's session to end")
        admin.execute(f'DROP ROLE "{role}"')
        admin.close()


def test_the_server_keeps_what_it_keeps(hostile: Hostile) -> None:
    long = hostile.apps[hostile.tag + "é" * 50]
    assert len(long.encode()) == 63  # NAMEDATALEN - 1, whatever it did to the bytes
    for sent, kept in hostile.apps.items():
        if sent.isascii() and sent.isprintable():
            assert kept == sent  # printable ASCII arrives unchanged, markup included
        # control characters never get through as such (16+: \xNN text, before: '?'), but
        # the role name, a quoted identifier, keeps every character: see the limit tests
        assert raw_unsafe(kept) == []


def test_snapshot_json_is_exact(dsn: str, hostile: Hostile,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["snapshot", "--json", dsn]) == 0
    data = json.loads(capsys.readouterr().out)
    got = {(g["application_name"], g["state"]): g for g in data["groups"]}
    for name, n in hostile.counts.items():
        g = got[(name, hostile.states[name])]
        assert g["count"] == n, name
    if hostile.socket_app:
        sock = got[(hostile.apps[hostile.socket_app], "idle")]
        assert sock["clients"] == 1  # three Unix-socket sessions, NULL address: one client
    assert {"kind": "role", "name": hostile.role, "limit": 1, "current": 1} in (
        data["server"]["limits"])


def test_snapshot_table_is_literal_and_aligned(dsn: str, hostile: Hostile,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert cli.main(["snapshot", dsn]) == 0
    out = capsys.readouterr().out
    assert raw_unsafe(out) == []
    for name in hostile.counts:
        assert printable(name) in out, name
    assert f"[bold red]x{hostile.tag}[/]" in out  # markup shown, not applied
    assert "idle in transaction (aborted)" in out
    assert printable(hostile.role) in out  # in the CONNECTION LIMIT notice
    assert_table_aligned(out)


def assert_table_aligned(out: str) -> None:
    rows = [ln for ln in out.splitlines() if ln[:1] in "┏┃┡│└"]
    assert len(rows) > 4
    widths = {cell_width(r) for r in rows}
    assert len(widths) == 1, [(cell_width(r), r) for r in rows]


@pytest.mark.parametrize("names", [
    ["数据库", "ascii", "\u202eevil", "\x1b[2Jclear", "עברית", "e\u0301te", "😀 emoji"],
    ["x" * 63, "数" * 21, "\x1b]52;c;aGk=\x07", "[bold]b[/]", ""],
])
def test_cli_table_aligned_with_wide_and_bidi_names(names: list[str]) -> None:
    # names a server of another version or a client library could hand over verbatim
    groups = [Group(n, "idle in transaction (aborted)" if i % 2 else "idle", i + 1, 5.0, 1)
              for i, n in enumerate(names)]
    console = Console(width=300, file=None, record=True, force_terminal=False)
    with console.capture() as cap:
        console.print(groups_table(groups))
    out = cap.get()
    assert raw_unsafe(out) == []
    assert_table_aligned(out.replace("e\u0301", "é"))  # one column, as terminals draw it


async def test_tui_shows_the_names_literally(build_app: Callable[..., PgmedicApp],
                                             hostile: Hostile) -> None:
    app = build_app()
    async with app.run_test(size=(200, 50)):
        table = app.query_one(GroupsTable)

        def cells() -> dict[tuple[str, str], list[str]]:
            out = {}
            for i in range(table.row_count):
                row = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)]
                out[(row[0].replace(" ◀ offender", ""), row[1])] = row
            return out
        await until(lambda: all((printable(n), hostile.states[n]) in cells()
                                for n in hostile.counts), what="every hostile group")
        shown = cells()
        for name, n in hostile.counts.items():
            assert shown[(printable(name), hostile.states[name])][2] == str(n)
        for row in shown.values():
            assert raw_unsafe("".join(row)) == []


def test_share_dry_run_is_literal(dsn: str, hostile: Hostile, tmp_path: Any,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "incident.md"
    for fmt in ("slack", "discord"):
        code = cli.main(["share", "--dry-run", "--format", fmt, "--output", str(report),
                         "--include-queries", dsn])
        out, err = capsys.readouterr()
        assert code == 0, err
        payload = json.loads(out)
        text = json.dumps(payload, ensure_ascii=False)
        assert raw_controls(out) == [] and raw_controls(text) == []
        assert f"x{hostile.tag}" in text, fmt  # the app of the hostile query
        # made visible (each format then escapes the backslash its own way)
        assert "x1b" in text and "u202e" in text
        assert "<!channel>" not in text  # nobody pinged
    md = report.read_text(encoding="utf-8")
    assert raw_controls(md) == []
    assert f"x{hostile.tag}" in md and "\\x1b" in md and "&lt;\\!channel&gt;" in md


def test_parallel_workers_are_not_client_sessions(dsn: str, admin: psycopg.Connection[Any],
                                                  unique_app: Callable[[str], str]) -> None:
    app = unique_app("parallel")
    table = f"par_{app.replace('-', '_')}"
    admin.execute(f"CREATE TABLE {table} AS SELECT g FROM generate_series(1, 4000) g")
    leader = psycopg.connect(dsn, autocommit=True, application_name=app)
    for setting in ("max_parallel_workers_per_gather = 2", "parallel_setup_cost = 0",
                    "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0"):
        leader.execute(f"SET {setting}")

    def scan() -> None:
        try:
            leader.execute(f"SELECT count(*) FROM {table} WHERE pg_sleep(0.01) IS NOT NULL")
        except psycopg.errors.QueryCanceled:
            pass
    t = threading.Thread(target=scan, daemon=True)
    t.start()
    try:
        def workers() -> int:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE leader_pid = %s "
                                "AND backend_type = 'parallel worker'",
                                (leader.info.backend_pid,)).fetchone()
            return int(row[0]) if row else 0
        wait_until(workers, message="parallel workers")
        with Connection(dsn) as conn:
            snap = wait_until(lambda: (lambda s: s if s.other_backends.get(
                "parallel worker") else None)(collect(conn)), message="workers in the snapshot")
        mine = [b for b in snap.backends if b.application_name == app]
        assert [b.pid for b in mine] == [leader.info.backend_pid]  # the leader only
        assert mine[0].state == "active"
    finally:
        leader.cancel_safe(timeout=5)
        t.join(timeout=10)
        leader.close()
        admin.execute(f"DROP TABLE {table}")
