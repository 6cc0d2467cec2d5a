"""Where pgmedic keeps things on disk: config, incident timelines, audit log, reports.

``PGMEDIC_STATE_DIR`` and ``PGMEDIC_CONFIG_DIR`` override the platform's directories
(tests point them at a temporary directory).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "pgmedic"


def config_dir() -> Path:
    env = os.environ.get("PGMEDIC_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP, appauthor=False))


def state_dir() -> Path:
    env = os.environ.get("PGMEDIC_STATE_DIR")
    return Path(env) if env else Path(platformdirs.user_state_dir(APP, appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.toml"


def user_runbooks_dir() -> Path:
    return config_dir() / "runbooks"


def incidents_dir() -> Path:
    """One JSON-lines timeline per incident session."""
    return state_dir() / "incidents"


def audit_log() -> Path:
    """Append-only: one JSON line per terminated backend."""
    return state_dir() / "audit.log"


def reports_dir() -> Path:
    """Summaries saved before they are posted (Markdown and JSON)."""
    return state_dir() / "reports"


def ensure_parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
