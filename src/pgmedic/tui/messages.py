"""Past-tense messages that workers post back to the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from pgmedic.errors import PgmedicError
from pgmedic.tui.session import Refreshed

if TYPE_CHECKING:
    from pgmedic.tui.flows import Evaluation


class SnapshotTaken(Message):
    def __init__(self, refreshed: Refreshed, evaluation: Evaluation | None = None) -> None:
        super().__init__()
        self.refreshed = refreshed
        self.evaluation = evaluation


class RefreshFailed(Message):
    def __init__(self, error: PgmedicError, retry_in: float) -> None:
        super().__init__()
        self.error = error
        self.retry_in = retry_in
