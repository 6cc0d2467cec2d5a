"""Fixtures for the share tests: a real local webhook receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from share_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()
