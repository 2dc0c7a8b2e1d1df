"""A fault schedule drawn from a seed: the same seed always replays the same faults at the same offsets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    KILL = "kill"  # SIGKILL the service's process, start it again after `hold_s`
    CLOSE_BROKER_CONNECTIONS = "close_broker_connections"  # rabbitmqctl close_connection for its connections
    # Opt-in only (RENTAL_FAULTS_INFRA=1): they restart the machine's servers (reliability/infra.py).
    RESTART_RABBITMQ = "restart_rabbitmq"
    RESTART_POSTGRES = "restart_postgres"


SERVICE_FAULTS = (FaultKind.KILL, FaultKind.CLOSE_BROKER_CONNECTIONS)
INFRA_FAULTS = (FaultKind.RESTART_RABBITMQ, FaultKind.RESTART_POSTGRES)
SERVICES = ("wallet", "contracts", "provisioning", "license-distributor")


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: FaultKind
    service: str | None  # None for a fault of the shared servers
    hold_s: float

    def describe(self) -> str:
        target = self.service or "infrastructure"
        return f"+{self.at_s:5.1f}s {self.kind} {target} (hold {self.hold_s:.1f}s)"


def draw_schedule(*, seed: int, duration_s: float, faults: int, infrastructure: bool = False) -> list[Fault]:
    """`faults` faults at offsets within `duration_s`, in time order, from `seed` alone.

    With `infrastructure`, a restart of RabbitMQ and one of Postgres are added when the draw has none.
    """
    rng = random.Random(f"fault-schedule:{seed}")
    kinds = SERVICE_FAULTS + (INFRA_FAULTS if infrastructure else ())
    drawn = []
    for _ in range(faults):
        kind = rng.choice(kinds)
        service = rng.choice(SERVICES) if kind in SERVICE_FAULTS else None
        drawn.append(
            Fault(
                at_s=round(rng.uniform(0.5, duration_s), 1),
                kind=kind,
                service=service,
                hold_s=round(rng.uniform(0.2, 2.0), 1),
            )
        )
    if infrastructure:
        # Each server is restarted at least once per seed, so a short run with few seeds covers both.
        for kind in INFRA_FAULTS:
            if all(fault.kind is not kind for fault in drawn):
                at_s = round(rng.uniform(0.5, duration_s), 1)
                drawn.append(Fault(at_s=at_s, kind=kind, service=None, hold_s=round(rng.uniform(0.2, 2.0), 1)))
    return sorted(drawn, key=lambda fault: fault.at_s)
