"""The pure half of termination: durations, states, services, the preview's filter."""

from __future__ import annotations

import pytest

from pgmedic.errors import InputError
from pgmedic.model import HIDDEN_STATE
from pgmedic.triage.targets import (
    DENIED,
    HIDDEN,
    SUPERUSER,
    Candidate,
    Operator,
    TargetSpec,
    Verification,
    build_preview,
    matches_service,
    parse_duration,
    parse_state,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("1h", 3600), ("90", 90), ("1h30m", 5400), ("250ms", 0.25),
    ("2min", 120), ("1.5s", 1.5), ("0", 0), (" 10s ", 10), ("1d", 86400),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-5s", "5x", "s", "10 20", "5m10", "1e3"])
def test_bad_durations_are_one_line_errors(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_duration(text)
    assert "not a duration" in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_states() -> None:
    assert parse_state("idle") == "idle"
    assert parse_state("idle-in-transaction") == "idle in transaction"
    assert parse_state("Idle in transaction (aborted)") == "idle in transaction (aborted)"
    with pytest.raises(InputError, match="active"):
        parse_state("active")


def test_service_matches_replica_names_only() -> None:
    assert matches_service("checkout-api", "checkout-api")
    assert matches_service("checkout-api-7d9f8c6b5-x2x9q", "checkout-api")
    assert matches_service("checkout-api-0", "checkout-api")
    assert not matches_service("checkout-api-worker", "checkout-api")
    assert not matches_service("checkout", "checkout-api")
    assert not matches_service("other-7d9f8c6b5-x2x9q", "checkout-api")


def test_spec_needs_an_application() -> None:
    with pytest.raises(InputError) as err:
        TargetSpec().check()
    assert "--app NAME" in err.value.one_line()
    with pytest.raises(InputError, match="--limit"):
        TargetSpec(applications=("a",), limit=0).check()


NOW = 1_000_000.0
OP = Operator(role="triage", is_superuser=False, can_signal=True, own_pid=1)


def cand(pid: int, app: str = "api", state: str = "idle", idle: float = 100.0, *,
         su: bool = False, signal: bool = True, user: str = "app") -> Candidate:
    return Candidate(pid, app, user, "db", "10.0.0.1", 5000 + pid, state, NOW - 1000,
                     NOW - idle, su, signal)


def test_preview_filter_exactly() -> None:
    rows = [
        cand(1),  # our own pid: never
        cand(2), cand(3, idle=50), cand(4, idle=5),  # 4 is too young
        cand(5, state="active"), cand(6, state="idle in transaction"),
        cand(7, app="other"),
        cand(8, su=True, signal=False), cand(9, signal=False),
        cand(10, state=HIDDEN_STATE),
        cand(11, user="other"),
    ]
    spec = TargetSpec(applications=("api",), idle_for_s=10)
    p = build_preview(spec, OP, rows, NOW)
    assert [t.pid for t in p.targets] == [2, 11, 3]  # oldest idle first
    assert {s.pid: s.reason for s in p.skipped} == {8: SUPERUSER, 9: DENIED, 10: HIDDEN}
    assert "only a superuser" in next(s.detail for s in p.skipped if s.pid == 8)
    assert p.targets[0].idle_s == pytest.approx(100)

    p = build_preview(TargetSpec(applications=("api",), states=("idle in transaction",),
                                 user="app"), OP, rows, NOW)
    assert [t.pid for t in p.targets] == [6]

    p = build_preview(TargetSpec(applications=("api",), limit=2), OP, rows, NOW)
    assert [t.pid for t in p.targets] == [2, 11] and p.over_limit == 2  # 3 and 4


def test_superuser_sessions_only_on_request_by_a_superuser() -> None:
    su_op = Operator(role="postgres", is_superuser=True, can_signal=True, own_pid=1)
    rows = [cand(2, su=True)]
    p = build_preview(TargetSpec(applications=("api",)), su_op, rows, NOW)
    assert not p.targets and "--include-superusers" in p.skipped[0].detail
    p = build_preview(TargetSpec(applications=("api",), include_superusers=True), su_op, rows,
                      NOW)
    assert [t.pid for t in p.targets] == [2]
    # a non-superuser asking for it still gets nothing
    p = build_preview(TargetSpec(applications=("api",), include_superusers=True), OP,
                      [cand(2, su=True, signal=False)], NOW)
    assert not p.targets and p.skipped[0].reason == SUPERUSER


def test_advice_says_mitigation_and_the_fix() -> None:
    v = Verification(terminated=10, exited=10, client_before=100, client_after=90,
                     waited_s=1.0, reopened={"api": 8})
    text = v.advice()
    assert "10 slots freed" in text and "reopened 8" in text
    assert "mitigation" in text and "one shared pool per process" in text


def test_targets_is_pure() -> None:
    import subprocess
    import sys

    code = ("import sys, pgmedic.triage.targets; "
            "bad = [m for m in ('psycopg', 'textual', 'httpx') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
