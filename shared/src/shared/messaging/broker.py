"""One robust AMQP connection per process; aio-pika reconnects it and restores channels and consumers.

`url` may name several nodes of one RabbitMQ cluster, comma-separated (`amqp://u:p@h1:5672/,amqp://u:p@h2:5672/`).
The first connection goes to the first node that accepts it, starting at a random one (so the replicas of a
service spread over the nodes); every reconnect after a loss tries the next node in turn, so a process whose
node died or was cut off continues on a live one. A single URL behaves exactly as before.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from yarl import URL

from shared.messaging.topology import Topology

log = structlog.get_logger()
CONNECT_TIMEOUT_S = 5.0


def split_urls(url: str) -> list[str]:
    """The URLs in a comma-separated list of AMQP URLs (blanks around them ignored)."""
    urls = [part.strip() for part in url.split(",") if part.strip()]
    if not urls:
        raise ValueError("no AMQP URL given")
    return urls


class ClusterConnection(aio_pika.RobustConnection):
    """A robust connection that goes to the next of several nodes on every (re)connect attempt.

    aio-pika's reconnect loop clears `transport` before each attempt and then connects to `self.url`: that
    moment moves `self.url` to the next node. (Checked against aio-pika 10.2, pinned in uv.lock;
    `tests/reliability_cluster/test_cluster_servers.py` fails if a version stops doing so.)
    """

    def __init__(self, urls: list[str], *, start: int = 0, **kwargs: Any) -> None:
        self._urls = [URL(u) for u in urls]
        # The first attempt's move lands on `start`.
        self._next = (start - 1) % len(self._urls)
        self._transport: Any = None
        self._moving = False  # not while the base class initialises
        # aio-pika waits 5 s before a reconnect by default; with another node to go to, 1 s is plenty.
        kwargs.setdefault("reconnect_interval", 1.0)
        super().__init__(self._urls[start], **kwargs)
        self._moving = True

    @property
    def transport(self) -> Any:
        return self._transport

    @transport.setter
    def transport(self, value: Any) -> None:
        if value is None and self._moving:
            self._next = (self._next + 1) % len(self._urls)
            self.url = self._urls[self._next]
        self._transport = value


class Broker:
    def __init__(self, *, url: str, prefix: str, service: str) -> None:
        self.urls = split_urls(url)
        self.url = self.urls[0]
        self.topology = Topology(prefix=prefix)
        self.service = service
        self._connection: AbstractRobustConnection | None = None

    async def connect(self) -> None:
        start = random.randrange(len(self.urls))
        last: Exception | None = None
        for offset in range(len(self.urls)):
            connection = ClusterConnection(
                self.urls,
                start=(start + offset) % len(self.urls),
                client_properties={"connection_name": self.service},
            )
            try:
                # The timeout holds for every later reconnect too: a node that accepts TCP but never answers
                # (its process stopped) is given up after it, and the next node tried.
                await connection.connect(timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:  # refused, reset, unreachable, timed out: try the next node
                last = exc
                await connection.close()
                continue
            self._connection = connection
            break
        else:
            assert last is not None
            raise last
        channel = await self.connection.channel()
        await self.topology.declare_exchanges(channel)
        await channel.close()
        log.info("broker.connected", service=self.service, node=self.node)

    @property
    def node(self) -> str:
        """host:port of the node the connection is on (or last tried)."""
        if self._connection is None or not isinstance(self._connection, aio_pika.RobustConnection):
            return ""
        url = self._connection.url
        return f"{url.host}:{url.port}"

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("broker not connected")
        return self._connection

    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed and self._connection.connected.is_set()

    async def channel(self, *, prefetch: int | None = None) -> AbstractRobustChannel:
        channel = await self.connection.channel(publisher_confirms=True)
        if prefetch is not None:
            await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def this_task_is_cancelled() -> bool:
    """Whether a CancelledError means this task is being cancelled. aiormq also fails what is in flight on a lost
    connection with CancelledError; a loop that must outlive the broker's faults goes on after that one."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
