"""What a fail-over costs, measured the way a service lives it: a publisher on the node that is lost, using the
services' own connection code, and a writer through the services' own kind of multi-host database URL.

- `PublishProbe`: a `ClusterConnection` (shared.messaging.broker) whose first node is the one about to be lost,
  publishing a persistent message with publisher confirms every 50 ms to a quorum queue of the run;
  `publishing_again(after=t)` is how long after `t` the first publish begun at or after `t` was confirmed.
- `WriteProbe`: an asyncpg pool on the multi-host URL (`target_session_attrs=read-write`), committing one row
  every 50 ms; `writing_again(after=t)` is how long after `t` the first commit begun at or after `t` succeeded
  (on the promoted standby). Each commit is acknowledged only once it is on the standby too, while there is one.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import aio_pika
import asyncpg

from shared.messaging.broker import CONNECT_TIMEOUT_S, ClusterConnection

EVERY_S = 0.05


class _Probe:
    def __init__(self) -> None:
        self.successes: list[tuple[float, float]] = []  # (attempt began, succeeded)
        self.failures = 0
        self.last_failure = ""
        self._attempt_started = 0.0
        self._task: asyncio.Task[None] | None = None
        self._new_success = asyncio.Event()

    def _succeeded(self) -> None:
        # A success counts from when its attempt began: a confirm that arrives after a fault for a message sent
        # before it says nothing about publishing after the fault.
        self.successes.append((self._attempt_started, asyncio.get_running_loop().time()))
        self._new_success.set()

    async def _attempt(self) -> None:
        raise NotImplementedError

    def state(self) -> str:
        return ""

    async def _loop(self) -> None:
        while True:
            self._attempt_started = asyncio.get_running_loop().time()
            try:
                await self._attempt()
            except asyncio.CancelledError:
                # aiormq fails what was in flight on a lost connection with CancelledError: only a cancel of this
                # task itself ends the probe.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                self.failures += 1
                self.last_failure = f"CancelledError ({self.state()})"
            except Exception as exc:  # noqa: BLE001 - failing while the node is away is what is measured
                self.failures += 1
                self.last_failure = f"{exc!r} ({self.state()})"
            else:
                self._succeeded()
            await asyncio.sleep(EVERY_S)

    def run(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=type(self).__name__)

    async def first_success(self, *, within: float = 30) -> None:
        """Wait until the probe worked once (so a later gap is the fault's, not the probe's start)."""
        await asyncio.wait_for(self._wait_after(0.0), timeout=within)

    async def _wait_after(self, after: float) -> float:
        while True:
            later = [done for began, done in self.successes if began >= after]
            if later:
                return later[0]
            self._new_success.clear()
            await self._new_success.wait()

    async def again_after(self, after: float, *, within: float) -> float:
        """Seconds from `after` to the first success after it."""
        try:
            return await asyncio.wait_for(self._wait_after(after), timeout=within) - after
        except TimeoutError as exc:
            raise TimeoutError(
                f"no success within {within}s; {self.failures} failures, the last {self.last_failure}"
            ) from exc

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class PublishProbe(_Probe):
    def __init__(self, urls: list[str], *, first_node: int, queue: str) -> None:
        super().__init__()
        self.urls = urls
        self.first_node = first_node
        self.queue = queue
        self.connection: ClusterConnection | None = None
        self.channel: aio_pika.abc.AbstractChannel | None = None
        self.failed_last = False

    async def __aenter__(self) -> PublishProbe:
        self.connection = ClusterConnection(
            self.urls, start=self.first_node, client_properties={"connection_name": "failover-probe"}
        )
        await self.connection.connect(timeout=CONNECT_TIMEOUT_S)
        self.channel = await self.connection.channel(publisher_confirms=True)
        await self.channel.declare_queue(
            self.queue, durable=True, arguments={"x-queue-type": "quorum", "x-max-length": 100}
        )
        self.run()
        await self.first_success()
        return self

    def state(self) -> str:
        connection, channel = self.connection, self.channel
        if connection is None or channel is None:
            return "not connected"
        node = f"{connection.url.host}:{connection.url.port}"
        return f"on {node}, connected {connection.connected.is_set()}, channel closed {channel.is_closed}"

    async def _attempt(self) -> None:
        assert self.connection is not None
        assert self.channel is not None
        if self.failed_last:
            # As the outbox relay does: after a failed publish, a channel of its own. A quorum queue can refuse
            # (Basic.Nack) every later publish of a channel that began publishing to it on a node that had not yet
            # learnt of its new leader; a fresh channel registers with the leader as it is now.
            old, self.channel = self.channel, await self.connection.channel(publisher_confirms=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.close(), timeout=1)
        self.failed_last = True
        await self.channel.default_exchange.publish(
            aio_pika.Message(b"probe", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=self.queue,
            timeout=2,
        )
        self.failed_last = False

    async def publishing_again(self, *, after: float, within: float = 90) -> float:
        return await self.again_after(after, within=within)

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.stop()
        if self.connection is not None:
            try:  # the run's queues must be empty at its end: the probe's own goes with it
                channel = await asyncio.wait_for(self.connection.channel(), timeout=10)
                await asyncio.wait_for(channel.queue_delete(self.queue), timeout=10)
            finally:
                await self.connection.close()


class WriteProbe(_Probe):
    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None

    async def __aenter__(self) -> WriteProbe:
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2, timeout=5)
        await self.pool.execute("CREATE TABLE IF NOT EXISTS failover_probe (at timestamptz NOT NULL DEFAULT now())")
        self.run()
        await self.first_success()
        return self

    async def _attempt(self) -> None:
        assert self.pool is not None
        await self.pool.execute("INSERT INTO failover_probe DEFAULT VALUES", timeout=2)

    async def writing_again(self, *, after: float, within: float = 90) -> float:
        return await self.again_after(after, within=within)

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.stop()
        if self.pool is not None:
            self.pool.terminate()
