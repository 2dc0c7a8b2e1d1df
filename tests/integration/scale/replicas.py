"""Several replicas of every service as real processes (`python -m <package>`), on free ports, for scale tests.

Each run gets its own database (bootstrapped like any platform database) and broker name prefix on the test
platform's servers, so counting rows, inbox entries and published events is exact; both are removed at the end.
Every process's output goes to a file for diagnosis, and every process is killed when the run ends.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from scripts.bootstrap_db import bootstrap
from tests.harness import TestPlatform, delete_prefixed_broker_objects, eventually, fetch_at, fetchval_at, free_port

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ServiceKind:
    name: str
    package: str
    env_prefix: str
    schema: str


WALLET = ServiceKind("wallet", "wallet", "WALLET_", "wallet")
CONTRACTS = ServiceKind("contracts", "contracts", "CONTRACTS_", "contracts")
PROVISIONING = ServiceKind("provisioning", "provisioning", "PROVISIONING_", "provisioning")
LICENSE_DISTRIBUTOR = ServiceKind("license-distributor", "license_distributor", "LICENSE_DISTRIBUTOR_", "licensing")
ALL_SERVICES = (WALLET, CONTRACTS, PROVISIONING, LICENSE_DISTRIBUTOR)


@dataclass
class Replica:
    kind: ServiceKind
    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.kind.name}.{self.index + 1}"


@dataclass
class ReplicaSet:
    platform: TestPlatform
    database: str
    broker_prefix: str
    replicas: list[Replica] = field(default_factory=list)
    # More environment for every replica (e.g. `WALLET_SMTP_PORT` of a test's own SMTP sink).
    extra_env: dict[str, str] = field(default_factory=dict)

    def of(self, kind: ServiceKind) -> list[Replica]:
        return [r for r in self.replicas if r.kind == kind]

    @property
    def admin_database_url(self) -> str:
        # The query is kept: a multi-host URL's target_session_attrs (the cluster fault run) must reach the primary.
        parts = urlsplit(self.platform.admin_database_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{self.database}", parts.query, ""))

    async def fetchval(self, sql: str, *args: object) -> object:
        return await fetchval_at(self.admin_database_url, sql, *args)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        return await fetch_at(self.admin_database_url, sql, *args)

    async def count(self, sql: str, *args: object) -> int:
        return int(str(await self.fetchval(sql, *args)))

    async def metric(self, replica: Replica, name: str, **labels: str) -> float:
        """Sum of the samples of `name` on one replica whose labels contain `labels` (a label may end with '*')."""
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{replica.url}/metrics")).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(_label_matches(sample.labels.get(k), v) for k, v in labels.items()):
                    total += sample.value
        return total

    async def metric_per_replica(self, kind: ServiceKind, name: str, **labels: str) -> list[float]:
        return [await self.metric(replica, name, **labels) for replica in self.of(kind)]

    def logs(self) -> str:
        parts = []
        for replica in self.replicas:
            text = replica.log_path.read_text(errors="replace") if replica.log_path.exists() else ""
            parts.append(f"--- {replica.label} (port {replica.port}) ---\n{text[-3000:]}")
        return "\n".join(parts)


def _label_matches(actual: str | None, expected: str) -> bool:
    if actual is None:
        return False
    return actual.endswith(expected[1:]) if expected.startswith("*") else actual == expected


def replica_env(replica: Replica, replica_set: ReplicaSet) -> dict[str, str]:
    platform, prefix = replica_set.platform, replica.kind.env_prefix
    database_url = platform.database_url(replica.kind.schema, database=replica_set.database)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RENTAL_", prefix))}
    env.update(
        {
            f"{prefix}HTTP_PORT": str(replica.port),
            f"{prefix}HTTP_HOST": "127.0.0.1",
            f"{prefix}DATABASE_URL": database_url,
            f"{prefix}AMQP_URL": platform.amqp_url,
            f"{prefix}BROKER_PREFIX": replica_set.broker_prefix,
            f"{prefix}AUTH_JWKS_PATH": str(platform.dev_dir / "jwks.json"),
            f"{prefix}LOG_JSON": "true",
            f"{prefix}OUTBOX_POLL_INTERVAL_S": "0.5",
            f"{prefix}CONSUMER_RETRY_DELAYS_S": "[0.1, 0.3]",
            f"{prefix}CONSUMER_MAX_ATTEMPTS": "5",
            f"{prefix}DATABASE_POOL_MAX": "5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k: v for k, v in replica_set.extra_env.items() if k.startswith(prefix)})
    return env


@asynccontextmanager
async def running_replicas(
    platform: TestPlatform,
    log_dir: Path,
    *,
    count: int = 2,
    services: tuple[ServiceKind, ...] = ALL_SERVICES,
    extra_env: dict[str, str] | None = None,
    # Eight interpreters importing FastAPI, pydantic and aio-pika at once take ~30 CPU-seconds: on a busy 2-core
    # machine that alone can exceed a minute (seen: 76 s under a load average of 12; 15 s on a quiet one).
    ready_within: float = 150.0,
) -> AsyncIterator[ReplicaSet]:
    """Start `count` replicas of every service at once (they race to migrate) and wait until all are ready."""
    run_id = uuid.uuid4().hex[:8]
    replica_set = ReplicaSet(
        platform=platform,
        database=f"{platform.database}_scale_{run_id}",
        broker_prefix=f"{platform.broker_prefix}scale-{run_id}.",
        extra_env=dict(extra_env or {}),
    )
    await bootstrap(admin_url=platform.admin_url, database=replica_set.database)
    try:
        for kind in services:
            for index in range(count):
                port = free_port()
                replica_set.replicas.append(
                    Replica(kind=kind, index=index, port=port, log_path=log_dir / f"{kind.name}.{index + 1}.log")
                )
        try:
            for replica in replica_set.replicas:
                _start(replica, replica_set)
            await _wait_until_ready(replica_set, within=ready_within)
            yield replica_set
        finally:
            await asyncio.to_thread(_stop_all, replica_set.replicas)
    finally:
        await _drop(replica_set)


def _start(replica: Replica, replica_set: ReplicaSet) -> None:
    replica.log_file = replica.log_path.open("wb")
    spawn(replica, replica_set)


def spawn(replica: Replica, replica_set: ReplicaSet) -> None:
    """Start (or start again, after a kill) the replica's process, writing to its open log file."""
    assert replica.log_file is not None
    replica.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module names
        [sys.executable, "-m", replica.kind.package],
        cwd=ROOT,
        env=replica_env(replica, replica_set),
        stdout=replica.log_file,
        stderr=subprocess.STDOUT,
    )


async def _wait_until_ready(replica_set: ReplicaSet, *, within: float) -> None:
    async with httpx.AsyncClient(timeout=2) as client:

        async def not_ready() -> list[str]:
            waiting = []
            for replica in replica_set.replicas:
                assert replica.process is not None
                if replica.process.poll() is not None:
                    raise AssertionError(
                        f"{replica.label} exited with {replica.process.returncode}\n{replica_set.logs()}"
                    )
                try:
                    answer = await client.get(f"{replica.url}/readyz")
                    state = "ready" if answer.status_code == 200 else f"{answer.status_code} {answer.text}"
                except httpx.TransportError as exc:
                    state = repr(exc)
                if state != "ready":
                    waiting.append(f"{replica.label}: {state}")
            return waiting

        try:
            await eventually(not_ready, until=lambda waiting: not waiting, within=within, every=0.25)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{replica_set.logs()}") from exc


def _stop_all(replicas: list[Replica]) -> None:
    running = [r for r in replicas if r.process is not None and r.process.poll() is None]
    for replica in running:
        assert replica.process is not None
        replica.process.terminate()
    deadline = time.monotonic() + 10
    for replica in running:
        assert replica.process is not None
        try:
            replica.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            replica.process.kill()
            replica.process.wait(timeout=10)
    for replica in replicas:
        if replica.log_file is not None:
            replica.log_file.close()


async def _drop(replica_set: ReplicaSet) -> None:
    admin = await asyncpg.connect(replica_set.platform.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{replica_set.database}" WITH (FORCE)')
    finally:
        await admin.close()
    await delete_prefixed_broker_objects(replica_set.platform.amqp_url, replica_set.broker_prefix)
