"""The incident timeline on disk: appended and flushed as each event happens.

A crash or a closed terminal loses nothing; ``--resume`` and ``pgmedic share`` read the
latest (or a named) incident back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pgmedic import paths
from pgmedic.errors import InputError
from pgmedic.report.timeline import Event, Timeline


class TimelineStore:
    """A :class:`Timeline` backed by ``<state>/incidents/<id>.jsonl``."""

    def __init__(self, timeline: Timeline, path: Path) -> None:
        self.timeline = timeline
        self.path = path

    @classmethod
    def new(cls, label: str = "") -> TimelineStore:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        incident_id = f"{stamp}-{os.getpid()}"
        path = paths.ensure_parent(paths.incidents_dir() / f"{incident_id}.jsonl")
        return cls(Timeline(incident_id), path)

    @classmethod
    def open(cls, path: Path) -> TimelineStore:
        timeline = Timeline(path.stem)
        try:
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            timeline.add(Event.from_json(line))
                        except (ValueError, KeyError, TypeError) as exc:
                            raise InputError(f"{path}:{n}: not a timeline event ({exc})") from None
        except OSError as exc:
            raise InputError(f"cannot read the incident timeline {path}: {exc.strerror}") from None
        return cls(timeline, path)

    @classmethod
    def latest(cls) -> TimelineStore | None:
        folder = paths.incidents_dir()
        if not folder.is_dir():
            return None
        files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        return cls.open(files[-1]) if files else None

    def add(self, kind: str, title: str, **data: object) -> Event:
        event = Event(at=time.time(), kind=kind, title=title, data=dict(data))
        self.timeline.add(event)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(event.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return event
