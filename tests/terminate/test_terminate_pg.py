"""Termination against the real server: exactly the previewed backends, nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgmedic import paths
from pgmedic.pg import actions
from pgmedic.pg.connection import Connection
from pgmedic.triage.targets import (
    CHANGED,
    DENIED,
    OWN,
    SUPERUSER,
    TERMINATED,
    Operator,
    Preview,
    Target,
    TargetSpec,
)
from pgtools import Sessions, dsn_as, wait_until

pytestmark = pytest.mark.pg

RoleFactory = Callable[..., str]


@pytest.fixture
def roles(admin: psycopg.Connection[Any], unique_app: Any) -> Iterator[RoleFactory]:
    """make("app") -> a new LOGIN role (extra GRANTs by name); sessions ended and dropped after."""
    made: list[str] = []

    def make(base: str, *grants: str) -> str:
        name = str(unique_app(base)).replace("-", "_")
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        for g in grants:
            admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(g),
                                                           sql.Identifier(name)))
        made.append(name)
        return name

    yield make
    for name in made:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE usename = %s", (name,))
        wait_until(lambda n=name: no_sessions(admin, n),  # type: ignore[misc]
                   message=f"sessions of {name} to end")
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def no_sessions(admin: psycopg.Connection[Any], role: str) -> bool:
    row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                        (role,)).fetchone()
    return row is not None and row[0] == 0


def alive(admin: psycopg.Connection[Any], pids: list[int]) -> set[int]:
    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)",
                         (pids,)).fetchall()
    return {int(r[0]) for r in rows}


def pids_of(conns: list[psycopg.Connection[Any]]) -> list[int]:
    return [c.info.backend_pid for c in conns]


def idle_longer_than(admin: psycopg.Connection[Any], pids: list[int], seconds: float) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND state = 'idle' "
        "AND state_change < clock_timestamp() - make_interval(secs => %s)",
        (pids, seconds)).fetchone()
    return row is not None and row[0] == len(pids)


def test_only_the_previewed_backends_die(dsn: str, sessions: Sessions, unique_app: Any,
                                         admin: psycopg.Connection[Any],
                                         roles: RoleFactory) -> None:
    app_role = roles("app")
    app_dsn = dsn_as(dsn, user=app_role)
    api, other = unique_app("api"), unique_app("other")
    old = sessions.many(3, api, "idle", dsn=app_dsn)
    wait_until(lambda: idle_longer_than(admin, pids_of(old), 1.5), message="1.5 s idle")
    young = sessions.many(2, api, "idle", dsn=app_dsn)
    in_xact = sessions.open(api, "idle in transaction", dsn=app_dsn)
    active = sessions.open(api, "active", dsn=app_dsn)
    others = sessions.many(2, other, "idle", dsn=app_dsn)
    survivors = pids_of([*young, in_xact, active, *others])
    wait_until(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s "
                                     "AND state = 'active'", (active.info.backend_pid,)
                                     ).fetchone()[0], message="the active session")  # type: ignore[index]
    non_client = [int(r[0]) for r in admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'").fetchall()]
    assert non_client  # checkpointer, background writer, ... at least

    with Connection(dsn) as conn:
        p = actions.preview(conn, TargetSpec(applications=(api,), idle_for_s=1.5))
        assert sorted(t.pid for t in p.targets) == sorted(pids_of(old))
        assert {t.state for t in p.targets} == {"idle"}
        assert not p.skipped
        o = actions.terminate(conn, p, operator="oncall")
        assert [r.result for r in o.results] == [TERMINATED] * 3
        v = actions.verify(conn, o, wait_s=0)
        assert conn.connected and conn.backend_pid is not None
        own = conn.backend_pid
        assert v.terminated == 3 and v.exited == 3
    assert not alive(admin, pids_of(old))
    assert alive(admin, [*survivors, *non_client]) == {*survivors, *non_client}
    assert own not in pids_of(old)

    # the audit log: one line per terminated backend, nothing secret
    lines = paths.audit_log().read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    entries = [json.loads(line) for line in lines]
    assert sorted(e["pid"] for e in entries) == sorted(pids_of(old))
    e = entries[0]
    assert e["result"] == TERMINATED and e["application_name"] == api
    assert e["user"] == app_role and e["state"] == "idle" and e["idle_seconds"] > 1.5
    assert e["operator"] == {"os_user": "oncall", "role": "postgres"}
    assert ":" in e["server"] and "password" not in json.dumps(e)
    assert o.audit_log == str(paths.audit_log())


def test_guards_in_the_statement(dsn: str, sessions: Sessions, unique_app: Any,
                                 admin: psycopg.Connection[Any], roles: RoleFactory) -> None:
    """A tampered preview is re-checked: a changed backend_start (pid reuse), pgmedic's own
    backend and a non-client backend are never signalled; the rest of the set still is."""
    app_role = roles("app")
    api = unique_app("api")
    conns = sessions.many(3, api, "idle", dsn=dsn_as(dsn, user=app_role))
    checkpointer = admin.execute(
        "SELECT pid, extract(epoch FROM backend_start)::float8 FROM pg_stat_activity "
        "WHERE backend_type = 'checkpointer'").fetchone()
    assert checkpointer is not None
    with Connection(dsn) as conn:
        p = actions.preview(conn, TargetSpec(applications=(api,)))
        assert len(p.targets) == 3
        reused, *rest = p.targets
        own_start = admin.execute(
            "SELECT extract(epoch FROM backend_start)::float8 FROM pg_stat_activity "
            "WHERE pid = %s", (conn.backend_pid,)).fetchone()
        assert own_start is not None and conn.backend_pid is not None
        own = reused._replace(pid=conn.backend_pid, backend_start=own_start[0],
                              application_name="pgmedic")
        bg = reused._replace(pid=checkpointer[0], backend_start=checkpointer[1],
                             application_name="")
        tampered = replace(p, targets=(reused._replace(backend_start=reused.backend_start + 1),
                                       *rest, own, bg))
        o = actions.terminate(conn, tampered)
        results = {r.target.pid: r.result for r in o.results}
        assert results == {reused.pid: CHANGED, rest[0].pid: TERMINATED,
                           rest[1].pid: TERMINATED, conn.backend_pid: OWN,
                           checkpointer[0]: CHANGED}
        assert conn.connected
    wait_until(lambda: not alive(admin, [t.pid for t in rest]), message="the targets to exit")
    assert alive(admin, [reused.pid, checkpointer[0]]) == {reused.pid, checkpointer[0]}
    assert not conns[0].closed
    entries = [json.loads(x) for x in paths.audit_log().read_text().splitlines()]
    assert sum(e["result"] == TERMINATED for e in entries) == 2
    assert {e["pid"]: e["result"] for e in entries}[reused.pid] == CHANGED


def test_signal_backend_role_cannot_touch_a_superuser(dsn: str, sessions: Sessions,
                                                      unique_app: Any,
                                                      admin: psycopg.Connection[Any],
                                                      roles: RoleFactory) -> None:
    operator = roles("operator", "pg_signal_backend", "pg_read_all_stats")
    app_role = roles("app")
    api = unique_app("api")
    su = sessions.open(api, "idle")  # the test DSN is a superuser
    plain = sessions.open(api, "idle", dsn=dsn_as(dsn, user=app_role))
    with Connection(dsn_as(dsn, user=operator)) as conn:
        p = actions.preview(conn, TargetSpec(applications=(api,), include_superusers=True))
        assert not p.operator.is_superuser and p.operator.can_signal
        assert [t.pid for t in p.targets] == [plain.info.backend_pid]
        assert [(s.pid, s.reason) for s in p.skipped] == [(su.info.backend_pid, SUPERUSER)]
        assert "only a superuser" in p.skipped[0].detail
        # even smuggled into the set, the statement skips it instead of failing as a whole
        smuggled = Target(su.info.backend_pid, api, "postgres", None, None, None, "idle",
                          _start(admin, su.info.backend_pid), 1.0, True)
        tampered = replace(p, targets=(*p.targets, smuggled),
                           spec=replace(p.spec, include_superusers=True))
        o = actions.terminate(conn, tampered)
        assert {r.target.pid: r.result for r in o.results} == {
            plain.info.backend_pid: TERMINATED, su.info.backend_pid: SUPERUSER}
    wait_until(lambda: not alive(admin, [plain.info.backend_pid]), message="plain to exit")
    assert alive(admin, [su.info.backend_pid]) == {su.info.backend_pid}


def test_role_without_signal_privilege_is_told(dsn: str, sessions: Sessions, unique_app: Any,
                                               admin: psycopg.Connection[Any],
                                               roles: RoleFactory) -> None:
    operator = roles("viewer", "pg_read_all_stats")
    own_app_role = roles("app")
    api = unique_app("api")
    theirs = sessions.open(api, "idle", dsn=dsn_as(dsn, user=own_app_role))
    admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(own_app_role),
                                                   sql.Identifier(operator)))
    other_role = roles("other")
    denied = sessions.open(api, "idle", dsn=dsn_as(dsn, user=other_role))
    with Connection(dsn_as(dsn, user=operator)) as conn:
        p = actions.preview(conn, TargetSpec(applications=(api,)))
        assert [t.pid for t in p.targets] == [theirs.info.backend_pid]  # a member of its role
        assert [(s.pid, s.reason) for s in p.skipped] == [(denied.info.backend_pid, DENIED)]
        assert "pg_signal_backend" in p.skipped[0].detail


def test_hidden_rows_are_skipped_with_reason(dsn: str, sessions: Sessions, unique_app: Any,
                                             roles: RoleFactory) -> None:
    operator = roles("blind", "pg_signal_backend")
    other = roles("app")
    api = unique_app("api")
    s = sessions.open(api, "idle", dsn=dsn_as(dsn, user=other))
    with Connection(dsn_as(dsn, user=operator)) as conn:
        p = actions.preview(conn, TargetSpec(applications=(api,)))
        assert not p.targets
        assert [(x.pid, x.reason) for x in p.skipped] == [(s.info.backend_pid, "hidden")]
        assert "pg_read_all_stats" in p.skipped[0].detail


def test_verify_counts_freed_and_reopened(dsn: str, sessions: Sessions, unique_app: Any,
                                          roles: RoleFactory) -> None:
    app_role = roles("app")
    app_dsn = dsn_as(dsn, user=app_role)
    api = unique_app("api")
    sessions.many(4, api, "idle", dsn=app_dsn)
    with Connection(dsn) as conn:
        p = actions.preview(conn, TargetSpec(applications=(api,)))
        o = actions.terminate(conn, p)
        sessions.many(2, api, "idle", dsn=app_dsn)  # the pool refills
        v = actions.verify(conn, o, wait_s=0.05)
    assert v.terminated == 4 and v.exited == 4
    assert v.reopened == {api: 2}
    assert v.client_after_wait is not None
    assert "mitigation" in v.advice() and "reopened 2" in v.advice()


def test_read_only_refuses(dsn: str) -> None:
    with Connection(dsn) as conn:
        p = Preview(spec=TargetSpec(applications=("x",)),
                    operator=Operator("postgres", True, True, 0), taken_at=0.0, targets=())
        with pytest.raises(actions.ReadOnlyError):
            actions.terminate(conn, p, read_only=True)


def _start(admin: psycopg.Connection[Any], pid: int) -> float:
    row = admin.execute("SELECT extract(epoch FROM backend_start)::float8 FROM pg_stat_activity "
                        "WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return float(row[0])
