"""Robustness tests (issue 9): a full server, least privilege, a slow or locked server,
hostile data, fuzzed input. Servers of their own where a test fills slots or locks catalogs,
so the session's shared server is never disturbed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pgmedic.tui.app import PgmedicApp, make_app
from tuitools import tui_args


@pytest.fixture
def build_app(dsn: str) -> Callable[..., PgmedicApp]:
    def build(conninfo: str | None = None, **kw: Any) -> PgmedicApp:
        app = make_app(conninfo or dsn, tui_args(**kw))
        app.CURSOR_BLINK = False  # type: ignore[misc]
        return app
    return build
