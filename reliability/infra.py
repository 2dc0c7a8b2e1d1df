"""Restarting the run's own Postgres and RabbitMQ (reliability/cluster.py) as faults of the seeded run.

Only servers the run started itself are ever restarted: never the machine's own. Neither is left stopped: each
restart ends, in a `finally`, by starting the server if it is not running, and the caller then waits, with a
deadline, until it answers again.
"""

from __future__ import annotations

import asyncio
import subprocess

from reliability.cluster import PostgresNode, RabbitNode


def run_command(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command of the machine's own tools (ss), its output captured as text."""
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)  # noqa: S603


def restart_postgres(node: PostgresNode) -> None:
    """`pg_ctl restart -m fast` of the run's own node; whatever happens, it is running afterwards."""
    try:
        node.restart()
    finally:
        if not node.is_running():
            node.start()


async def restart_rabbitmq(node: RabbitNode, hold_s: float) -> None:
    """`rabbitmqctl stop_app` of the run's own node, down for `hold_s` (the drawn fault), then `start_app`."""
    try:
        await asyncio.to_thread(node.ctl, "stop_app")
        # The broker stays down for hold_s: that gap is the fault itself, drawn from the seed.
        await asyncio.sleep(hold_s)
    finally:
        await asyncio.to_thread(node.ctl, "start_app")
