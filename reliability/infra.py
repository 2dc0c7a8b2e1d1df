"""Restarting this machine's Postgres and RabbitMQ as faults of the seeded run (opt-in: RENTAL_FAULTS_INFRA=1).

Neither server is ever left stopped: each restart ends, in a `finally`, by starting the server if it is not
running, and the caller then waits, with a deadline, until it answers again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess

ETC_POSTGRESQL = "/etc/postgresql"


def run_command(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command of the machine's own tools (pg_ctlcluster, rabbitmqctl, ss), its output captured as text."""
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)  # noqa: S603


def postgres_cluster() -> tuple[str, str]:
    versions = sorted(os.listdir(ETC_POSTGRESQL))
    assert len(versions) == 1, f"expected one Postgres version under {ETC_POSTGRESQL}, found {versions}"
    return versions[0], "main"


def _pg_ctlcluster(action: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    version, cluster = postgres_cluster()
    return run_command("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action, check=check)


def restart_postgres() -> None:
    """`pg_ctlcluster ... restart`; whatever happens, the cluster is running afterwards."""
    try:
        _pg_ctlcluster("restart")
    finally:
        if _pg_ctlcluster("status", check=False).returncode != 0:  # 3: not running
            _pg_ctlcluster("start")


async def restart_rabbitmq(hold_s: float) -> None:
    """`rabbitmqctl stop_app`, down for `hold_s` (the drawn fault), then `start_app`, always."""
    try:
        await asyncio.to_thread(run_command, "rabbitmqctl", "stop_app")
        # The broker stays down for hold_s: that gap is the fault itself, drawn from the seed.
        await asyncio.sleep(hold_s)
    finally:
        await asyncio.to_thread(run_command, "rabbitmqctl", "start_app")
