"""A fault schedule drawn from a seed: the same seed always replays the same faults at the same offsets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    KILL = "kill"  # SIGKILL the service's process, start it again after `hold_s`
    CLOSE_BROKER_CONNECTIONS = "close_broker_connections"  # rabbitmqctl close_connection for its connections
    # Only when the fault run is a pytest session of its own: they restart the machine's servers
    # (reliability/infra.py, tests/reliability/conftest.py).
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

    Every kind of fault is then added once more where the draw has none of it, so that each seed, even in a
    short run of few seeds, kills a service, closes broker connections and (with `infrastructure`) restarts
    RabbitMQ and Postgres.
    """
    rng = random.Random(f"fault-schedule:{seed}")
    kinds = SERVICE_FAULTS + (INFRA_FAULTS if infrastructure else ())

    def draw(kind: FaultKind) -> Fault:
        return Fault(
            at_s=round(rng.uniform(0.5, duration_s), 1),
            kind=kind,
            service=rng.choice(SERVICES) if kind in SERVICE_FAULTS else None,
            hold_s=round(rng.uniform(0.2, 2.0), 1),
        )

    drawn = [draw(rng.choice(kinds)) for _ in range(faults)]
    drawn += [draw(kind) for kind in kinds if all(fault.kind is not kind for fault in drawn)]
    return sorted(drawn, key=lambda fault: fault.at_s)
