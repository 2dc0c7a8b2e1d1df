"""A fault schedule drawn from a seed: the same seed always replays the same faults at the same offsets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    KILL = "kill"  # SIGKILL the service's process, start it again after `hold_s`
    CLOSE_BROKER_CONNECTIONS = "close_broker_connections"  # rabbitmqctl close_connection for its connections
    # Of the run's own single servers (reliability/cluster.py), never the machine's.
    RESTART_RABBITMQ = "restart_rabbitmq"
    RESTART_POSTGRES = "restart_postgres"
    # Of the run's own three-node RabbitMQ cluster and Postgres primary with a standby (the cluster fault run).
    KILL_RABBITMQ_NODE = "kill_rabbitmq_node"  # kill -9 of one node (the drawn one), restarted after `hold_s`
    KILL_QUEUE_LEADER = "kill_queue_leader"  # kill -9 of the node leading most of the services' quorum queues
    CUT_OFF_RABBITMQ_NODE = "cut_off_rabbitmq_node"  # partitioned from its peers (not its clients) for `hold_s`
    FAIL_OVER_POSTGRES = "fail_over_postgres"  # stop the primary, promote the standby, rebuild the old primary


SERVICE_FAULTS = (FaultKind.KILL, FaultKind.CLOSE_BROKER_CONNECTIONS)
INFRA_FAULTS = (FaultKind.RESTART_RABBITMQ, FaultKind.RESTART_POSTGRES)
CLUSTER_FAULTS = (
    FaultKind.KILL_RABBITMQ_NODE,
    FaultKind.KILL_QUEUE_LEADER,
    FaultKind.CUT_OFF_RABBITMQ_NODE,
    FaultKind.FAIL_OVER_POSTGRES,
)
SERVICES = ("wallet", "contracts", "provisioning", "license-distributor")
RABBITMQ_NODES = 3
# How long a node stays cut off: long enough for it to pause itself (pause_minority) and for its clients to
# move to another node, and for the workload to go on meanwhile.
CUT_OFF_HOLD_S = (5.0, 12.0)


TARGETS = {FaultKind.KILL_QUEUE_LEADER: "the queues' leader", FaultKind.FAIL_OVER_POSTGRES: "the primary"}


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: FaultKind
    service: str | None  # None for a fault of the servers
    hold_s: float
    node: int | None = None  # which RabbitMQ node (0-based), for node faults that name one

    def describe(self) -> str:
        target = self.service or (
            f"node {self.node + 1}" if self.node is not None else TARGETS.get(self.kind, "infrastructure")
        )
        return f"+{self.at_s:5.1f}s {self.kind} {target} (hold {self.hold_s:.1f}s)"


def draw_schedule(
    *, seed: int, duration_s: float, faults: int, infrastructure: bool = False, cluster: bool = False
) -> list[Fault]:
    """`faults` faults at offsets within `duration_s`, in time order, from `seed` alone.

    Every kind of fault is then added once more where the draw has none of it, so that each seed, even in a
    short run of few seeds, kills a service, closes broker connections and (with `infrastructure`) restarts
    RabbitMQ and Postgres, or (with `cluster`) kills a RabbitMQ node and the queues' leader, cuts a node off and
    fails Postgres over.
    """
    rng = random.Random(f"fault-schedule:{seed}" + (":cluster" if cluster else ""))
    kinds = SERVICE_FAULTS + (INFRA_FAULTS if infrastructure else ()) + (CLUSTER_FAULTS if cluster else ())

    def draw(kind: FaultKind) -> Fault:
        at_s = round(rng.uniform(0.5, duration_s), 1)
        service = rng.choice(SERVICES) if kind in SERVICE_FAULTS else None
        hold_s = round(
            rng.uniform(*CUT_OFF_HOLD_S) if kind is FaultKind.CUT_OFF_RABBITMQ_NODE else rng.uniform(0.2, 2.0), 1
        )
        node = (
            rng.randrange(RABBITMQ_NODES)
            if kind in (FaultKind.KILL_RABBITMQ_NODE, FaultKind.CUT_OFF_RABBITMQ_NODE)
            else None
        )
        return Fault(at_s=at_s, kind=kind, service=service, hold_s=hold_s, node=node)

    drawn = [draw(rng.choice(kinds)) for _ in range(faults)]
    drawn += [draw(kind) for kind in kinds if all(fault.kind is not kind for fault in drawn)]
    return sorted(drawn, key=lambda fault: fault.at_s)
