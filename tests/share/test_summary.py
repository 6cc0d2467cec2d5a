"""build_summary: the timeline's findings plus the live state, read defensively."""

from __future__ import annotations

import json

from share_incident import incident

from pgmedic.model import Backend, ServerInfo, Snapshot
from pgmedic.report.summary import DEFAULT_CHECKLIST, build_summary, saturation_data
from pgmedic.report.timeline import FINDING, Event, Timeline


def snapshot(n: int = 30, query: str | None = "SELECT secret FROM cards") -> Snapshot:
    info = ServerInfo(version_num=160002, version="16.2", max_connections=100,
                      superuser_reserved_connections=3, reserved_connections=0,
                      host="db.internal", port=5432, database="app", user="triage",
                      is_superuser=True, sees_all=True, can_signal=True, can_use_reserved=True)
    backends = tuple(Backend(pid=100 + i, application_name="checkout-api", usename="app",
                             datname="app", client_addr="10.0.0.1", client_port=4000 + i,
                             state="idle", backend_start=0.0, state_change=0.0,
                             xact_start=None, wait_event=None, superuser=False, query=query)
                     for i in range(n))
    return Snapshot(taken_at=2000.0, server=info, own_pid=1, backends=backends)


def test_the_whole_incident() -> None:
    s = build_summary(incident(), snapshot(), note="  rolled back  ")
    assert s.server is not None and s.server.host == "db.internal"
    assert s.before is not None and (s.before.used, s.before.usable, s.before.level) == (
        96, 97, "fail")
    assert s.now is not None and (s.now.used, s.now.usable) == (30, 97)
    assert s.offender is not None and s.offender.service == "checkout-api"
    assert s.offender.pools_per_replica == 4.5
    assert s.pools_verdict is not None and s.pools_verdict.verdict == "fail"
    (t,) = s.actions
    assert (t.terminated, t.requested, t.skipped, t.freed, t.refill, t.operator) == (
        40, 42, 2, 40, 12, "alice")
    assert s.budget is not None and s.budget.verdict == "over"
    assert s.budget.pool_size_that_fits == 5
    assert [c.done for c in s.checklist] == [True, False]
    assert s.note == "rolled back"
    assert any("PgBouncer" in n for n in s.next_steps)
    assert any("refill" in n.lower() for n in s.next_steps)
    json.dumps(s.to_dict())  # JSON-safe


def test_query_text_only_when_asked() -> None:
    s = build_summary(incident(), snapshot())
    assert s.queries == ()
    assert "secret FROM cards" not in json.dumps(s.to_dict())
    q = build_summary(incident(), snapshot(), include_queries=True)
    assert q.queries[0].count == 30 and "secret" in q.queries[0].query


def test_before_falls_back_to_started_and_live_only() -> None:
    t = Timeline("x", [Event(1.0, "started", "s", saturation_data(snapshot(50)))])
    s = build_summary(t, None)
    assert s.before is not None and s.before.used == 50 and s.now is None
    empty = build_summary(Timeline("y"), snapshot())
    assert empty.before is None and empty.offender is None and empty.actions == ()
    assert [c.text for c in empty.checklist] == list(DEFAULT_CHECKLIST)


def test_malformed_event_data_is_skipped_not_fatal() -> None:
    junk: list[object] = [None, "x", 3, [1], {"a": {}}, float("nan")]
    events = [Event(float(i), kind, "t", {k: v for k in (
        "used", "usable", "offender", "counts", "budget", "checklist", "refill", "freed",
        "step_id", "verdict", "summary", "next_steps", "host", "port", "item")})
        for i, v in enumerate(junk) for kind in ("started", "snapshot", FINDING, "action",
                                                  "step", "note")]
    s = build_summary(Timeline("junk", events), None)
    json.dumps(s.to_dict())
