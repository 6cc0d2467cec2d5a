"""Synthetic snapshots for the pure tests and the benchmark: the article's incident."""

from __future__ import annotations

from pgmedic.model import Backend, ServerInfo, Snapshot

NOW = 1_800_000_000.0


def server(max_connections: int = 100, su_reserved: int = 3) -> ServerInfo:
    return ServerInfo(version_num=160002, version="16.2", max_connections=max_connections,
                      superuser_reserved_connections=su_reserved, reserved_connections=0,
                      host="db", port=5432, database="app", user="triage", is_superuser=True,
                      sees_all=True, can_signal=True, can_use_reserved=True)


class Maker:
    def __init__(self) -> None:
        self.pid = 1000
        self.rows: list[Backend] = []

    def pool(self, app: str, n: int, at: float, *, addr: str | None = "10.0.0.1",
             state: str = "idle", spacing: float = 0.004, superuser: bool = False,
             idle_since: float | None = None) -> None:
        """``n`` connections opened together at ``at`` seconds before NOW."""
        for i in range(n):
            self.pid += 1
            start = NOW - at + i * spacing
            self.rows.append(Backend(
                pid=self.pid, application_name=app, usename="app", datname="app",
                client_addr=addr, client_port=40000 + self.pid % 20000, state=state,
                backend_start=start,
                state_change=idle_since if idle_since is not None else start + 1.0,
                xact_start=None, wait_event="ClientRead", superuser=superuser))

    def snapshot(self, max_connections: int = 100) -> Snapshot:
        return Snapshot(taken_at=NOW, server=server(max_connections), own_pid=1,
                        backends=tuple(self.rows))


OFFENDER_PODS = ("checkout-api-7d9f8c6b5-x2x9q", "checkout-api-7d9f8c6b5-k8r4m")
HEALTHY_PODS = ("orders-api-5c7b9d8f4-p2q7z", "orders-api-5c7b9d8f4-w9x4n",
                "orders-api-5c7b9d8f4-z8v2c")


def article(*, gap: float = 3.0, per_pool: tuple[int, ...] = (10,) * 8,
            max_connections: int = 300) -> Snapshot:
    """checkout-api: 2 pods with 8 pools of 10 (health, dependency, 6 workers);
    orders-api: 3 pods with ONE shared pool of 5. ``gap`` seconds between pools."""
    m = Maker()
    for r, pod in enumerate(OFFENDER_PODS):
        for p, n in enumerate(per_pool):
            m.pool(pod, n, at=600 - r * 60 - p * gap, addr=f"10.0.1.{r + 1}")
    for r, pod in enumerate(HEALTHY_PODS):
        m.pool(pod, 5, at=900 - r * 30, addr=f"10.0.2.{r + 1}")
    return m.snapshot(max_connections)
