"""One robust AMQP connection per process; aio-pika reconnects it and restores channels and consumers."""

from __future__ import annotations

import aio_pika
import structlog
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection

from shared.messaging.topology import Topology

log = structlog.get_logger()


class Broker:
    def __init__(self, *, url: str, prefix: str, service: str) -> None:
        self.url = url
        self.topology = Topology(prefix=prefix)
        self.service = service
        self._connection: AbstractRobustConnection | None = None

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.url, client_properties={"connection_name": self.service})
        channel = await self._connection.channel()
        await self.topology.declare_exchanges(channel)
        await channel.close()
        log.info("broker.connected", service=self.service)

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
