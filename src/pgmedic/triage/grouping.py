"""Connections grouped by application x state: the overview every screen starts from."""

from __future__ import annotations

from dataclasses import dataclass

from pgmedic.model import Backend, Snapshot

#: the name shown for sessions that did not set application_name
UNNAMED = ""


@dataclass(frozen=True, slots=True)
class Group:
    application_name: str
    state: str
    count: int
    oldest_seconds: float | None  # age of the oldest state_change in the group
    clients: int  # distinct client addresses (a Unix socket counts as one "local" client)

    def as_dict(self) -> dict[str, object]:
        return {
            "application_name": self.application_name,
            "state": self.state,
            "count": self.count,
            "oldest_seconds": (None if self.oldest_seconds is None
                               else round(self.oldest_seconds, 3)),
            "clients": self.clients,
        }


def group_backends(backends: tuple[Backend, ...] | list[Backend], taken_at: float,
                   ) -> list[Group]:
    """Group client backends by (application_name, state), biggest first.

    One pass over the rows; ties are ordered by application then state so the order is
    stable between refreshes.
    """
    counts: dict[tuple[str, str], int] = {}
    oldest: dict[tuple[str, str], float] = {}
    addrs: dict[tuple[str, str], set[str | None]] = {}
    for b in backends:
        key = (b.application_name, b.state)
        n = counts.get(key)
        if n is None:
            counts[key] = 1
            addrs[key] = {b.client_addr}
            if b.state_change is not None:
                oldest[key] = b.state_change
        else:
            counts[key] = n + 1
            addrs[key].add(b.client_addr)
            sc = b.state_change
            if sc is not None:
                prev = oldest.get(key)
                if prev is None or sc < prev:
                    oldest[key] = sc
    groups = []
    for key, n in counts.items():
        first = oldest.get(key)
        groups.append(Group(
            application_name=key[0], state=key[1], count=n,
            oldest_seconds=None if first is None else max(0.0, taken_at - first),
            clients=len(addrs[key]),
        ))
    groups.sort(key=lambda g: (-g.count, g.application_name, g.state))
    return groups


def groups_of(snapshot: Snapshot) -> list[Group]:
    return group_backends(snapshot.backends, snapshot.taken_at)


@dataclass(frozen=True, slots=True)
class AppTotal:
    """All states of one application together."""

    application_name: str
    count: int
    by_state: dict[str, int]
    clients: int


def totals_by_application(snapshot: Snapshot) -> list[AppTotal]:
    by_app: dict[str, dict[str, int]] = {}
    addrs: dict[str, set[str | None]] = {}
    for b in snapshot.backends:
        states = by_app.setdefault(b.application_name, {})
        states[b.state] = states.get(b.state, 0) + 1
        addrs.setdefault(b.application_name, set()).add(b.client_addr)
    out = [AppTotal(app, sum(s.values()), s, len(addrs[app])) for app, s in by_app.items()]
    out.sort(key=lambda t: (-t.count, t.application_name))
    return out
