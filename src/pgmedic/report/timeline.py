"""The incident timeline: every finding, action and note, with its time.

Pure data: :mod:`pgmedic.store` appends events to disk as they happen (JSON lines), and
reads them back for ``--resume`` and ``pgmedic share``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: kinds of event
STARTED = "started"  # session start: server, version, operator
SNAPSHOT = "snapshot"  # saturation figures at a moment (first one = "before")
FINDING = "finding"  # a runbook check's verdict with its numbers
ACTION = "action"  # something that changed the server (termination) and its outcome
NOTE = "note"  # the engineer's own words
STEP = "step"  # runbook step marked done / skipped
OUTAGE = "outage"  # pgmedic lost / regained its connection
SHARED = "shared"  # a summary was posted / saved

KINDS = (STARTED, SNAPSHOT, FINDING, ACTION, NOTE, STEP, OUTAGE, SHARED)


@dataclass(frozen=True, slots=True)
class Event:
    at: float  # epoch seconds, local clock of the operator's machine
    kind: str
    title: str  # one line, for the timeline view
    data: dict[str, Any] = field(default_factory=dict)  # the numbers behind it (JSON-safe)

    def to_json(self) -> str:
        return json.dumps({"at": self.at, "kind": self.kind, "title": self.title,
                           "data": self.data}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Event:
        obj = json.loads(line)
        return cls(at=float(obj["at"]), kind=str(obj["kind"]), title=str(obj["title"]),
                   data=dict(obj.get("data") or {}))

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%H:%M:%SZ")


@dataclass(slots=True)
class Timeline:
    incident_id: str
    events: list[Event] = field(default_factory=list)

    def add(self, event: Event) -> Event:
        self.events.append(event)
        return event

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    def last(self, kind: str) -> Event | None:
        return next((e for e in reversed(self.events) if e.kind == kind), None)
