"""A service started while Postgres or RabbitMQ is restarting comes up once they answer, instead of exiting.

The seeded fault run found it: a wallet killed and restarted during a RabbitMQ restart exited at start-up
(`AMQPConnectionError: Connection refused`) and stayed down. Here a gate, a real TCP forwarder in front of the
real server, stands for the restarting server: while shut it accepts and drops every connection (as a booting
server does), then it forwards to the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from license_distributor.config import Settings as DistributorSettings
from license_distributor.main import SPEC as DISTRIBUTOR
from shared.config import ServiceSettings
from shared.runtime import ServiceSpec
from tests.harness import TestPlatform, eventually, running_service
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

SERVICES: dict[str, tuple[ServiceSpec[Any], type[ServiceSettings]]] = {
    "wallet": (WALLET, WalletSettings),
    # Its gateway hub subscribes and announces the replica in a start-up step of its own.
    "license-distributor": (DISTRIBUTOR, DistributorSettings),
}


@dataclass
class Gate:
    target_port: int
    is_open: bool = False
    dropped: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            self.dropped += 1
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


@contextlib.asynccontextmanager
async def gate_to(port: int) -> AsyncIterator[Gate]:
    gate = Gate(target_port=port)
    await gate.start()
    try:
        yield gate
    finally:
        await gate.stop()


async def start_in_background(
    spec: ServiceSpec[Any], settings: ServiceSettings, started: asyncio.Event, stop: asyncio.Event
) -> None:
    async with running_service(spec, settings) as service:
        answer = await service.get("/readyz")
        assert answer.status_code == 200, answer.text
        started.set()
        await stop.wait()


@pytest.mark.parametrize("dependency", ["database", "broker"])
@pytest.mark.parametrize("service_name", list(SERVICES))
async def test_start_up_waits_for_a_restarting_dependency_and_then_serves(
    platform: TestPlatform, service_name: str, dependency: str
) -> None:
    spec, settings_class = SERVICES[service_name]
    real_port = 5432 if dependency == "database" else 5672
    async with gate_to(real_port) as gate:
        settings = platform.settings(settings_class, startup_wait_s=60)
        if dependency == "database":
            settings.database_url = settings.database_url.replace(":5432/", f":{gate.port}/")
        else:
            settings.amqp_url = settings.amqp_url.replace(":5672/", f":{gate.port}/")
        started, stop = asyncio.Event(), asyncio.Event()
        service = asyncio.create_task(start_in_background(spec, settings, started, stop))
        try:
            # It keeps trying while the server is away (each attempt meets a dropped connection) ...
            await eventually(lambda: asyncio.sleep(0, gate.dropped), until=lambda n: n >= 3, within=20)
            assert not started.is_set()
            assert not service.done()
            # ... and comes up once the server answers.
            gate.is_open = True
            await eventually(lambda: asyncio.sleep(0, started.is_set()), within=30)
        finally:
            stop.set()
            with contextlib.suppress(httpx.HTTPError):
                await asyncio.wait_for(service, timeout=30)
        assert service.exception() is None
