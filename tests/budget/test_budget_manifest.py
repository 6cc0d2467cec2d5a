"""The services manifest: the documented shape, one-line errors, and a fuzzed parser."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgmedic.errors import InputError
from pgmedic.triage.manifest import Headroom, parse_headroom, parse_manifest, parse_surge

ISSUE_EXAMPLE = """\
headroom = 20                # or "20%"; a flag overrides it
[services.checkout-api]
pool_max = 10                # default: PG_POOL_MAX_SIZE
pools_per_replica = 8        # default 1: one shared pool per process
replicas = 2                 # the autoscaler's maximum
surge = 0.25                 # default 0: extra replicas during a rolling deploy
"""


def test_issue_example() -> None:
    m = parse_manifest(ISSUE_EXAMPLE, "services.toml")
    assert m.headroom == Headroom(20)
    (s,) = m.services
    assert (s.name, s.pool_max, s.pools_per_replica, s.replicas, s.surge) == (
        "checkout-api", 10, 8, 2, 0.25)
    assert m.max_connections is None


def test_all_keys_and_defaults() -> None:
    m = parse_manifest('max_connections = 200\nsuperuser_reserved_connections = 3\n'
                       'reserved_connections = 2\nheadroom = "10%"\nreserve = 5\n'
                       '[services.a]\npool_max = 5\n'
                       '[services."b c"]\npool_max = 3\nsurge = "50%"\npattern = "b-*"\n')
    assert (m.max_connections, m.superuser_reserved_connections, m.reserved_connections,
            m.reserve) == (200, 3, 2, 5)
    assert m.headroom == Headroom(10.0, percent=True)
    a, b = m.services
    assert (a.pools_per_replica, a.replicas, a.surge, a.app_pattern) == (1, 1, 0.0, "a")
    assert (b.name, b.surge, b.app_pattern) == ("b c", 0.5, "b-*")


def test_default_pool_max() -> None:
    m = parse_manifest("[services.a]\nreplicas = 3\n", default_pool_max=7)
    assert m.services[0].pool_max == 7
    with pytest.raises(InputError, match="has no pool_max"):
        parse_manifest("[services.a]\nreplicas = 3\n")


@pytest.mark.parametrize(("text", "message"), [
    ("[services.x]\npool_size = 3\n",
     "s.toml:2:1: unknown key 'pool_size' in [services.x] (did you mean 'pool_max'?)"),
    ("[services.x]\npool_max = 3\nmax_replicas = 2\n",
     "s.toml:3:1: unknown key 'max_replicas' in [services.x] (did you mean 'replicas'?)"),
    ("[services.x]\npool_max = 3\npools_per_replcia = 2\n",
     "(did you mean 'pools_per_replica'?)"),
    ("max_conections = 100\n", "s.toml:1:1: unknown key 'max_conections' at the top level "
                               "(did you mean 'max_connections'?)"),
    ("[services.x]\npool_max = 0\n", "s.toml:2:1: pool_max in [services.x] must be at least 1"),
    ("[services.x]\npool_max = -5\n", "must be at least 1, got -5"),
    ("[services.x]\npool_max = 5\nreplicas = -1\n", "s.toml:3:1: replicas in [services.x]"),
    ("[services.x]\npool_max = 5\npools_per_replica = 0\n", "pools_per_replica in"),
    ("[services.x]\npool_max = 5\nsurge = 1.5\n", "surge in [services.x] must be between 0 and 1"),
    ("[services.x]\npool_max = 5\nsurge = -0.1\n", "must be between 0 and 1"),
    ("[services.x]\npool_max = \"ten\"\n", "must be a whole number, got the string 'ten'"),
    ("[services.x]\npool_max = true\n", "must be a whole number"),
    ("[services.x]\npool_max = 2.5\n", "must be a whole number"),
    ("headroom = -3\n", "headroom must not be negative"),
    ("headroom = \"lots\"\n", "headroom must be a number of slots or a percentage"),
    ("headroom = \"100%\"\n", "it must be below 100%"),
    ("max_connections = 0\n", "max_connections must be at least 1"),
    ("max_connections = 10000000\n", "out of range"),
    ("services = 3\n", "services must be a table"),
    ("[services]\nx = 3\n", "must be a table"),
    ("[services.x]\npool_max = 3\n[services.x]\n", "s.toml:3:"),
    ("[services.x\npool_max = 3\n", "s.toml:1:"),
    ("a = [1,\n", "invalid TOML"),
])
def test_bad_manifests_one_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_manifest(text, "s.toml")
    line = info.value.one_line()
    assert message in line
    assert "\n" not in line
    assert line.startswith("s.toml")


def test_toml_error_has_line_and_column() -> None:
    with pytest.raises(InputError) as info:
        parse_manifest("headroom = 20\n[services.x]\npool_max = = 3\n", "m.toml")
    assert info.value.message.startswith("m.toml:3:12: invalid TOML")


def test_flag_values() -> None:
    assert parse_headroom("20%") == Headroom(20.0, True)
    assert parse_headroom("20") == Headroom(20)
    assert parse_headroom(0) == Headroom(0)
    assert Headroom(12.5, True).slots(100) == 13
    assert Headroom(20, True).slots(100) == 20
    assert parse_surge("25%") == 0.25 and parse_surge(0) == 0.0
    for bad in ("x", "-1", "20%%", ""):
        with pytest.raises(InputError):
            parse_headroom(bad)
    with pytest.raises(InputError):
        parse_surge("200%")


def test_control_characters_in_keys_are_shown_escaped() -> None:
    with pytest.raises(InputError) as info:
        parse_manifest('[services.x]\npool_max = 1\n"\\u001b[31mred" = 1\n', "s.toml")
    assert "\x1b" not in info.value.one_line()


VOCAB = st.sampled_from([
    "[services.a]\n", "[services.\"b\"]\n", "pool_max = ", "replicas = ", "surge = ",
    "pools_per_replica = ", "headroom = ", "max_connections = ", "reserve = ", "pattern = ",
    "10", "-1", "0", "0.25", "\"20%\"", "\"x\"", "true", "[1, 2]", "{a = 1}", "\n", "=", "[",
    "]", "\"", "'", "#", "1e400", "99999999999999999999999", "services = ", "nan", "inf",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.lists(VOCAB, max_size=30).map("".join)))
def test_fuzz_any_text_is_a_manifest_or_an_input_error(text: str) -> None:
    try:
        m = parse_manifest(text, "f.toml", default_pool_max=5)
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    for s in m.services:
        assert s.pool_max >= 1 and s.replicas >= 1 and s.pools_per_replica >= 1
        assert 0 <= s.surge <= 1
