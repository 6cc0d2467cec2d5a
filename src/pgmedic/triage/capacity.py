"""Saturation: how full the server's connection slots are, and for whom."""

from __future__ import annotations

from dataclasses import dataclass

from pgmedic.model import Snapshot


@dataclass(frozen=True, slots=True)
class Saturation:
    used: int  # client backends, pgmedic's own excluded
    usable: int  # max_connections - superuser_reserved - reserved
    max_connections: int
    superuser_reserved: int
    reserved: int
    superuser_sessions: int  # client backends of superuser roles (they may eat reserved slots)
    hidden: int
    own: int = 1  # pgmedic's own backend: not in any figure, but it does hold a slot

    @property
    def free_ordinary(self) -> int:
        """Slots an ordinary role could still take (0 when full)."""
        return max(0, self.usable - self.used - self.own)

    @property
    def ratio(self) -> float:
        return self.used / self.usable if self.usable else 1.0

    @property
    def into_reserved(self) -> int:
        """Sessions beyond the ordinary slots (superusers or reserved-slot roles using them)."""
        return max(0, self.used - self.usable)

    @property
    def level(self) -> str:
        """ok below 80 %, warn from 80 %, fail when ordinary slots are gone."""
        if self.used + self.own >= self.usable:
            return "fail"
        if self.ratio >= 0.8:
            return "warn"
        return "ok"


def saturation(snapshot: Snapshot) -> Saturation:
    s = snapshot.server
    return Saturation(
        used=snapshot.client_connections,
        usable=s.usable_connections,
        max_connections=s.max_connections,
        superuser_reserved=s.superuser_reserved_connections,
        reserved=s.reserved_connections,
        superuser_sessions=sum(1 for b in snapshot.backends if b.superuser),
        hidden=snapshot.hidden,
    )
