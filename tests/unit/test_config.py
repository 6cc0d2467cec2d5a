"""The config file: parsing, errors with file:line, and precedence (flags > env > file)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgmedic.config import Config, apply_config, load_config, parse_config
from pgmedic.errors import InputError


def test_reads_every_setting(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('conninfo = "service=prod"\nrefresh = 1\nread_only = true\nheadroom = "20%"\n'
                 'services = "s.toml"\npool_max = 5\nwebhook_url_env = "HOOK"\n')
    cfg = load_config(f)
    assert cfg.conninfo == "service=prod" and cfg.refresh == 1.0 and cfg.read_only is True
    assert cfg.headroom == "20%" and cfg.pool_max == 5 and cfg.webhook_url_env == "HOOK"


def test_unknown_key_names_the_closest(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("refresh = 1\nread_onyl = true\n")
    with pytest.raises(InputError, match=r"c.toml:2: unknown setting 'read_onyl' \(did you mean "
                                         r"'read_only'\?\)"):
        load_config(f)


def test_bad_toml_gives_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("refresh = 1\nconninfo = \n")
    with pytest.raises(InputError, match=r"c.toml:2:\d+: invalid TOML"):
        load_config(f)


def test_wrong_type_and_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'refresh' must be"):
        parse_config('refresh = "fast"', "c.toml")
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    assert load_config(None) == Config()  # no default file: fine


def test_precedence_flag_over_file_env_over_file(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = Config(conninfo="service=prod", refresh=5.0, read_only=True)
    args = argparse.Namespace(conninfo=None, host=None, port=None, user=None, dbname=None,
                              refresh=1.0, read_only=None)
    for var in ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGDATABASE", "PGPORT", "PGUSER"):
        monkeypatch.delenv(var, raising=False)
    apply_config(args, cfg)
    assert args.refresh == 1.0  # the flag wins
    assert args.read_only is True  # the file fills what was not given
    assert args.conninfo == "service=prod"
    args2 = argparse.Namespace(conninfo=None, host=None, port=None, user=None, dbname=None)
    monkeypatch.setenv("PGHOST", "db.internal")
    apply_config(args2, cfg)
    assert args2.conninfo is None  # PGHOST wins over the file's conninfo


@given(st.text(max_size=200))
def test_any_text_is_a_config_or_one_clear_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.toml")
    except InputError as exc:
        assert "\n" not in exc.message.strip() or exc.message.startswith("fuzz.toml")


def test_cli_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("refesh = 2\n")
    proc = subprocess.run([sys.executable, "-m", "pgmedic", "--config", str(f), "snapshot"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"pgmedic: {f}:1: unknown setting 'refesh' "
                                   "(did you mean 'refresh'?)")


@pytest.mark.parametrize("argv", [["snapshot", "--statement-timeout", "0"],
                                  ["snapshot", "--connect-timeout", "-1"],
                                  ["--refresh", "0"]])
def test_non_positive_timeouts_are_one_clear_error(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "pgmedic", *argv], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "must be positive" in proc.stderr


def test_read_only_in_the_config_file_refuses_termination(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("read_only = true\n")
    proc = subprocess.run([sys.executable, "-m", "pgmedic", "--config", str(f), "terminate",
                           "-h", "127.0.0.1", "-p", "1", "--app", "x", "--yes"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "read-only" in proc.stderr and proc.stderr.count("\n") == 1
