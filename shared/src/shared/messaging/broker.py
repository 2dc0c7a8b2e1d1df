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
from aio_pika.abc import AbstractChannel, AbstractRobustChannel, AbstractRobustConnection
from aiormq.exceptions import ChannelAccessRefused, ChannelClosed, ChannelInvalidStateError, ChannelPreconditionFailed
from yarl import URL

from shared.messaging.topology import Topology

log = structlog.get_logger()
CONNECT_TIMEOUT_S = 5.0
# How long a new channel waits for a reconnecting connection, and a channel given up on for its close.
CHANNEL_WAIT_S = 10.0
CLOSE_TIMEOUT_S = 2.0


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
        try:
            channel = await self.channel()
            try:
                await self.topology.declare_exchanges(channel)
            finally:
                await discard_channel(channel)
        except BaseException:
            # The node went away during the declarations: the caller tries again with a new connection, so this
            # one must not go on reconnecting in the background for the rest of the process.
            await self.close()
            raise
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
        """A new channel (publisher confirms on). A channel that fails to open is closed at once, so the robust
        connection does not reopen it on its next reconnect."""
        connection = self.connection
        # While the connection is between two nodes it has no transport and aio-pika refuses a channel with a bare
        # RuntimeError: wait for the reconnect instead (a TimeoutError, the broker away, if it takes too long).
        await asyncio.wait_for(connection.connected.wait(), timeout=CHANNEL_WAIT_S)
        channel = connection.channel(publisher_confirms=True)
        try:
            await channel.initialize()
            if prefetch is not None:
                await channel.set_qos(prefetch_count=prefetch)
        except BaseException:
            await discard_channel(channel)
            raise
        return channel

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()


async def discard_channel(channel: AbstractChannel) -> None:
    """Close a channel that is given up on, whatever state its connection is in.

    A robust connection reopens every channel it handed out that was not closed, with the queues, bindings and
    consumers declared on it, on every reconnect: a channel dropped without a close is reopened for the life of
    the process (a leak), and one that had a consumer would consume a second time beside its replacement. Closing
    marks it at once (before any await), so it is never reopened even if the close itself fails or times out on a
    connection that is gone.
    """
    try:
        await asyncio.wait_for(channel.close(), timeout=CLOSE_TIMEOUT_S)
    except asyncio.CancelledError:
        if this_task_is_cancelled():
            raise
    except Exception as exc:  # noqa: BLE001 - the channel is marked closed already; its connection may be gone
        log.debug("broker.channel.close_failed", error=repr(exc))


def is_broker_away(exc: BaseException) -> bool:
    """Whether `exc` says the broker (the node the connection was on) went away under a step, rather than that the
    step is wrong: what a start-up step retries on, on the next node.

    A node that is killed, paused or cut off fails what was in flight on its connection in several ways, depending
    on the moment: the connection's own error (`ConnectionClosed`, an `OSError`; a timeout is one too), the closed
    channel (`ChannelClosed`, or `ChannelInvalidStateError` for a call on a channel that closed with its
    connection), or a bare `CancelledError` from aiormq (not this task being cancelled). A refusal of the
    declaration itself (different arguments for an existing queue: precondition failed; no permission) is a
    configuration error and is not retried.
    """
    if isinstance(exc, asyncio.CancelledError):
        return not this_task_is_cancelled()
    if isinstance(exc, ChannelPreconditionFailed | ChannelAccessRefused):
        return False
    return isinstance(exc, OSError | ChannelClosed | ChannelInvalidStateError)


def this_task_is_cancelled() -> bool:
    """Whether a CancelledError means this task is being cancelled. aiormq also fails what is in flight on a lost
    connection with CancelledError; a loop that must outlive the broker's faults goes on after that one."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
