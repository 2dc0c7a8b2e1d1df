"""This replica's gateway sessions, and its own broker queue of bundle notifications.

Replicas share nothing in memory. Each declares an exclusive, auto-deleted queue bound to the events
exchange for `licensing.bundles_changed` (one notification per change, written to the outbox in the
transaction that stored the bundles), so every replica hears of every change and pushes to the gateways
connected to it, concurrently and with bounded buffers. A heartbeat marks the replica alive (a gateway is
online while its replica beats) and reconciles its sessions against the database, so a lost notification
delays a push by one beat at most.

A bundle pushed and not acknowledged is remembered in memory (one entry per gateway, no write) until its ack; a
sweeper reports those past the delivery deadline, and a gateway's `reject` is reported at once, each as a
licence delivery failure (written once per gateway and seq, `service.record_delivery_failure`).

Sessions open through an admission queue: identifies are taken in batches (one query, one transaction per
batch), so a reconnect of every gateway at once is admitted at the rate the database allows, with each
connection waiting its turn instead of timing out and coming back. Acks and disconnects are written in
batches too.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel
from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from license_distributor import repository, service
from license_distributor.domain import DEFAULT_LEASE
from license_distributor.service import Admitted, Delivery, GatewaySession, Identify
from shared.clock import Clock
from shared.db import is_database_away
from shared.events.licensing import BundlesCaughtUp, BundlesChanged
from shared.messaging.broker import Broker, discard_channel
from shared.messaging.envelope import Envelope
from shared.refusals import Unauthorized
from shared.runtime import BROKER_STEP_TIMEOUT_S, broker_away, database_away_at_start, until_reachable

log = structlog.get_logger()
NOTIFICATION_KEYS = (BundlesChanged.routing_key(), BundlesCaughtUp.routing_key())
# How many change ids a hub remembers, to skip the broker's copy of a change it already pushed locally.
HANDLED_CHANGES_KEPT = 4096
# WebSocket close codes (4000-4999 are the application's): the reason string says which.
CLOSE_PROTOCOL = 4400
CLOSE_REFUSED = 4401
CLOSE_TIMEOUT = 4408
CLOSE_REPLACED = 4409
CLOSE_REMOVED = 4410
CLOSE_SHUTDOWN = 1012

SESSIONS = Gauge("license_distributor_gateway_sessions", "Gateway WebSocket sessions held by this process (welcomed)")
ADMISSION_WAITING = Gauge(
    "license_distributor_admission_waiting", "Identified gateways waiting for their session to open"
)
HANDSHAKES = Gauge("license_distributor_handshakes_in_progress", "Connections between their upgrade and their welcome")
HANDSHAKES_DEFERRED = Counter(
    "license_distributor_handshakes_deferred_total",
    "Connections refused with 503 while `handshake_limit` handshakes were in progress",
)
PUSHES = Counter(
    "license_distributor_bundles_pushed_total",
    "Bundles sent to gateways: on connect, on a change committed here (local) or heard from the broker (change), "
    "or by reconciliation",
    ["trigger"],
)
CHANGES_HEARD = Counter(
    "license_distributor_changes_heard_total",
    "Bundle changes a hub heard of: from a commit in its own process (local) or the broker's copy (change), "
    "handled or skipped as one already handled",
    ["trigger", "outcome"],
)
DELIVERY_FAILURES = Counter(
    "license_distributor_licence_delivery_failures_total",
    "Bundles a connected gateway refused (rejected) or did not acknowledge in time (ack_timeout): told as "
    "LicenceDeliveryFailed (told), or already told for that gateway and seq (repeat)",
    ["kind", "outcome"],
)

SendJson = Callable[[dict[str, object]], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]
Sent = Callable[["Session", int], None]


class Session:
    """One gateway's WebSocket on this replica. Sends are serialised; a bundle goes out only if newer.

    Until it is welcomed, a session only remembers the newest bundle meant for it (a bundle never precedes
    the welcome); `welcome` sends it after the welcome. Slotted, and the lock that serialises the sends exists
    only while one is under way: there are ten thousand of these, nearly all idle.
    """

    __slots__ = (
        "_close",
        "_lock",
        "_lock_users",
        "_on_sent",
        "_pending",
        "_pending_clock",
        "_send_json",
        "_send_timeout_s",
        "closed",
        "connected_at",
        "gateway",
        "sent_seq",
        "welcomed",
    )

    def __init__(
        self,
        *,
        gateway: GatewaySession,
        seq_held: int,
        send_json: SendJson,
        close: Close,
        welcomed: bool = True,
        connected_at: datetime | None = None,
        send_timeout_s: float = 10.0,
        on_sent: Sent | None = None,
    ) -> None:
        self.gateway = gateway
        self.sent_seq = seq_held
        self.connected_at = connected_at
        self.welcomed = welcomed
        self.closed = False
        self._pending: Delivery | None = None
        # A test clock's time told before the welcome went out: sent after the welcome and its bundle.
        self._pending_clock: dict[str, object] | None = None
        self._send_json = send_json
        self._close = close
        self._send_timeout_s = send_timeout_s
        self._lock: asyncio.Lock | None = None
        self._lock_users = 0
        # Told of every bundle sent (the hub waits for its ack).
        self._on_sent = on_sent

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This session's sends one at a time (an `asyncio.Lock`, made for the first user, dropped by the last)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        lock = self._lock
        self._lock_users += 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users -= 1
            if not self._lock_users:
                self._lock = None

    async def welcome(self, delivery: Delivery | None) -> bool:
        """Send the welcome, then the newest bundle it lacks (the one read at identify, or a newer one since)."""
        async with self._turn():
            if self.closed or not await self._send(_welcome(self.gateway)):
                return False
            self.welcomed = True
            newest = max((d for d in (delivery, self._pending) if d is not None), key=lambda d: d.seq, default=None)
            self._pending = None
        await self.push(newest, trigger="connect")
        if (clock := self._pending_clock) is not None:
            self._pending_clock = None
            await self.tell_clock(clock)
        return True

    async def push(self, delivery: Delivery | None, *, trigger: str = "change") -> bool:
        """Send the bundle unless the gateway has it or was already sent it; True if it went out now."""
        if delivery is None:
            return False
        async with self._turn():
            if self.closed or delivery.seq <= self.sent_seq:
                return False
            if not self.welcomed:
                if self._pending is None or delivery.seq > self._pending.seq:
                    self._pending = delivery
                return False
            if not await self._send({"type": "bundle", "seq": delivery.seq, "jws": delivery.jws}):
                return False
            self.sent_seq = delivery.seq
            if self._on_sent is not None:
                self._on_sent(self, delivery.seq)
        PUSHES.labels(trigger).inc()
        log.debug("license_distributor.bundle.sent", hwid=self.gateway.hwid, seq=delivery.seq, trigger=trigger)
        return True

    async def tell_clock(self, message: dict[str, object]) -> None:
        """The test clock's new time (`clock_message`), after whatever was sent before it; before the welcome, kept
        for after it (the welcome's own time was read at the identify, and may be older)."""
        async with self._turn():
            if self.closed:
                return
            if not self.welcomed:
                self._pending_clock = message
                return
            await self._send(message)

    async def reboot(self, reason: str) -> None:
        async with self._turn():
            if self.closed or not self.welcomed or not await self._send({"type": "reboot", "reason": reason}):
                return
        log.info("license_distributor.gateway.reboot_sent", hwid=self.gateway.hwid, reason=reason)

    async def _send(self, message: dict[str, object]) -> bool:
        """False if the socket went away meanwhile (or would not take the frame in time): the gateway gets
        the bundle when it reconnects. The wait is bounded: a gateway that stops reading cannot hold a push."""
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await self._send_json(message)
        except (WebSocketDisconnect, RuntimeError, OSError, TimeoutError) as exc:
            self.closed = True
            log.info("license_distributor.gateway.send_failed", hwid=self.gateway.hwid, error=repr(exc))
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        async with self._turn():
            if self.closed:
                return
            self.closed = True
        # The socket may be gone already (that is often why a new session replaces it): nothing to close then.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._close(code, reason)


def _welcome(gateway: GatewaySession) -> dict[str, object]:
    """The welcome; a gateway of a domain on a test clock is told the clock's time in it (`test_clock_time`)."""
    if gateway.clock_time is None:
        return {"type": "welcome"}
    return {"type": "welcome", "test_clock_time": gateway.clock_time.isoformat()}


def clock_message(event: BundlesCaughtUp) -> dict[str, object]:
    """What a gateway of a domain on a test clock is told when the clock moves (docs/design.md section 6)."""
    return {"type": "clock", "test_clock_id": str(event.clock_id), "test_clock_time": event.frozen_time.isoformat()}


# The newest bundle sent to a session and not acknowledged yet, and the sweeper's tick of the first push of that run
# not acknowledged (moved on by an ack of an older seq: the gateway is alive and catching up). A tuple and a tick, not
# a dataclass and an instant: a push to each gateway of a domain writes one such entry, and reads no clock.
_Unacked = tuple[Session, int, int]


@dataclass
class _Waiting:
    """An identified connection waiting for its session to open."""

    identify: Identify
    send_json: SendJson
    close: Close
    admitted: asyncio.Future[tuple[Session, Delivery | None]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GatewayHub:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        broker: Broker,
        clock: Clock,
        heartbeat_interval_s: float,
        issuer: str = "urn:rental:license-distributor",
        admission_batch: int = 200,
        admission_concurrency: int = 2,
        push_concurrency: int = 256,
        write_interval_s: float = 0.05,
        send_timeout_s: float = 10.0,
        handshake_limit: int = 1000,
        lease: timedelta = DEFAULT_LEASE,
        delivery_deadline_s: float = 60.0,
    ) -> None:
        self.pool = pool
        self.delivery_deadline = timedelta(seconds=delivery_deadline_s)
        # The sweeper looks a quarter of the deadline apart (at most 5 s); `_tick` counts those intervals on the clock.
        self._sweep_interval_s = min(delivery_deadline_s / 4, 5.0)
        self._deadline_ticks = math.ceil(delivery_deadline_s / self._sweep_interval_s)
        self._tick = 0
        self.lease = lease
        self.broker = broker
        self.clock = clock
        self.heartbeat_interval_s = heartbeat_interval_s
        self.issuer = issuer
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.sessions: dict[UUID, Session] = {}
        self.admission_batch = admission_batch
        self.send_timeout_s = send_timeout_s
        self.write_interval_s = write_interval_s
        self.handshake_limit = handshake_limit
        self.handshakes = 0
        self._channel: AbstractRobustChannel | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._admission_concurrency = admission_concurrency
        self._pushing = asyncio.Semaphore(push_concurrency)
        # Written in batches: the highest ack per gateway, and ended sessions (gateway -> its mark, at).
        self._acks: dict[UUID, tuple[int, datetime]] = {}
        self._ended: dict[UUID, tuple[datetime, datetime]] = {}
        self._written = asyncio.Event()
        # Bundles sent and not acknowledged, by gateway; and delivery failures waiting to be written.
        self._unacked: dict[UUID, _Unacked] = {}
        self._failures: dict[tuple[UUID, int], tuple[str, datetime]] = {}
        self._failed = asyncio.Event()
        # Changes this process committed, pushed at once (`heard_locally`); the broker's copy of each is then
        # skipped by its id, so a reboot is not sent twice.
        self._local_pushes: set[asyncio.Task[None]] = set()
        self._handled_changes: collections.OrderedDict[UUID, None] = collections.OrderedDict()

    @property
    def queue_name(self) -> str:
        return self.broker.topology.name(f"license-distributor.replica.{self.replica}")

    async def start(self, *, startup_wait_s: float) -> None:
        """Subscribe to the bundle notifications and announce this replica; either server may be restarting
        just then, so each step waits for it (up to `startup_wait_s`), as the rest of the start-up does."""
        await until_reachable(
            "broker", self._subscribe, away=broker_away, within_s=startup_wait_s, attempt_within_s=BROKER_STEP_TIMEOUT_S
        )
        await until_reachable(
            "database",
            lambda: repository.beat(self.pool, replica=self.replica, now=self.clock.now()),
            away=database_away_at_start,
            within_s=startup_wait_s,
        )
        service.listen_to_local_changes(self)
        self._tasks.append(asyncio.create_task(self._beat_forever(), name=f"hub-heartbeat-{self.replica}"))
        self._tasks.append(asyncio.create_task(self._write_forever(), name=f"hub-writes-{self.replica}"))
        self._tasks.append(asyncio.create_task(self._sweep_unacked_forever(), name=f"hub-acks-{self.replica}"))
        self._tasks.append(asyncio.create_task(self._report_failures_forever(), name=f"hub-failures-{self.replica}"))
        for n in range(self._admission_concurrency):
            self._tasks.append(asyncio.create_task(self._admit_forever(), name=f"hub-admission-{n}-{self.replica}"))
        log.info("license_distributor.hub.started", replica=self.replica, queue=self.queue_name)

    async def _subscribe(self) -> None:
        channel = await self.broker.channel(prefetch=64)
        try:
            exchange = await self.broker.topology.declare_exchanges(channel)
            # Exclusive and auto-deleted: it lives exactly as long as this replica's connection.
            queue = await channel.declare_queue(self.queue_name, exclusive=True, auto_delete=True)
            for key in NOTIFICATION_KEYS:
                await queue.bind(exchange, routing_key=key)
            await queue.consume(self._on_notification)
        except BaseException:
            # Closed, or the robust connection would reopen it, with its consumer, on the next reconnect.
            await discard_channel(channel)
            raise
        self._channel = channel

    async def stop(self) -> None:
        service.stop_listening_to_local_changes(self)
        for task in [*self._tasks, *self._local_pushes]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._local_pushes, return_exceptions=True)
        while not self._waiting.empty():
            waiting = self._waiting.get_nowait()
            if not waiting.admitted.done():
                waiting.admitted.cancel()
        for session in list(self.sessions.values()):
            await session.close(CLOSE_SHUTDOWN, "distributor_restarting")
            self.detach(session)
        if self._channel is not None:
            await discard_channel(self._channel)
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self._write_pending()
            await self._report_failures()
            await repository.release_replica(self.pool, replica=self.replica, now=self.clock.now())
        ADMISSION_WAITING.set(0)
        log.info("license_distributor.hub.stopped", replica=self.replica)

    # ---- sessions -------------------------------------------------------------------------------------

    async def attach(self, session: Session) -> None:
        """A gateway reconnecting to this replica replaces its older session here."""
        previous = self.sessions.get(session.gateway.gateway_id)
        self.sessions[session.gateway.gateway_id] = session
        if previous is None:
            SESSIONS.inc()
        elif previous is not session:
            await previous.close(CLOSE_REPLACED, "replaced_by_new_session")

    def detach(self, session: Session) -> bool:
        """False when a newer session of the same gateway has taken its place."""
        if self.sessions.get(session.gateway.gateway_id) is session:
            del self.sessions[session.gateway.gateway_id]
            SESSIONS.dec()
            # Not a delivery failure: a gateway that went away is sent the bundle again when it comes back.
            unacked = self._unacked.get(session.gateway.gateway_id)
            if unacked is not None and unacked[0] is session:
                del self._unacked[session.gateway.gateway_id]
            return True
        return False

    def begin_handshake(self) -> bool:
        """A slot for a new connection's handshake, or False when `handshake_limit` are in progress."""
        if self.handshakes >= self.handshake_limit:
            HANDSHAKES_DEFERRED.inc()
            return False
        self.handshakes += 1
        HANDSHAKES.inc()
        return True

    def end_handshake(self) -> None:
        self.handshakes -= 1
        HANDSHAKES.dec()

    async def open_session(
        self, identify: Identify, *, send_json: SendJson, close: Close
    ) -> tuple[Session, Delivery | None]:
        """Wait for this identify's turn; the session is attached (not yet welcomed) when this returns.

        Raises the refusal (`Unauthorized`) when the gateway is unknown or its signature does not verify.
        """
        waiting = _Waiting(identify=identify, send_json=send_json, close=close)
        self._waiting.put_nowait(waiting)
        ADMISSION_WAITING.set(self._waiting.qsize())
        return await waiting.admitted

    def acknowledged(self, session: Session, seq: int) -> None:
        held = self._acks.get(session.gateway.gateway_id)
        now = self.clock.now()
        if held is None or seq > held[0]:
            self._acks[session.gateway.gateway_id] = (seq, now)
        self._written.set()
        gateway_id = session.gateway.gateway_id
        unacked = self._unacked.get(gateway_id)
        if unacked is not None and unacked[0] is session:
            if seq >= unacked[1]:
                del self._unacked[gateway_id]
            else:
                self._unacked[gateway_id] = (session, unacked[1], self._tick)

    def sent(self, session: Session, seq: int) -> None:
        """A bundle went out to the session: its ack is due within the delivery deadline (in memory only)."""
        gateway_id = session.gateway.gateway_id
        unacked = self._unacked.get(gateway_id)
        # The tick of the first push not acknowledged stands.
        since = unacked[2] if unacked is not None and unacked[0] is session else self._tick
        self._unacked[gateway_id] = (session, seq, since)

    def rejected(self, session: Session, seq: int, reason: str) -> None:
        """The gateway refused bundle `seq`: a delivery failure, unless it was never sent that seq."""
        gateway_id = session.gateway.gateway_id
        if seq > session.sent_seq:
            log.warning("license_distributor.gateway.reject_of_unsent_seq", hwid=session.gateway.hwid, seq=seq)
            return
        unacked = self._unacked.get(gateway_id)
        if unacked is not None and unacked[0] is session and unacked[1] <= seq:
            del self._unacked[gateway_id]
        self._fail(gateway_id, seq, reason)

    def _fail(self, gateway_id: UUID, seq: int, reason: str) -> None:
        self._failures.setdefault((gateway_id, seq), (reason, self.clock.now()))
        self._failed.set()

    def ended(self, session: Session) -> None:
        """The session closed; recorded unless a newer session of the gateway took its place here."""
        if self.detach(session) and session.connected_at is not None:
            self._ended[session.gateway.gateway_id] = (session.connected_at, self.clock.now())
            self._written.set()

    async def _admit_forever(self) -> None:
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            try:
                await self._admit(batch)
            except asyncio.CancelledError:
                for waiting in batch:
                    if not waiting.admitted.done():
                        waiting.admitted.cancel()
                raise
            except Exception as exc:
                # Each connection sees the failure and closes; the gateway reconnects after its back-off.
                if is_database_away(exc):
                    log.warning("license_distributor.hub.admission_failed", error=repr(exc), batch=len(batch))
                else:
                    log.error("license_distributor.hub.admission_failed", exc_info=exc, batch=len(batch))
                for waiting in batch:
                    if not waiting.admitted.done():
                        waiting.admitted.set_exception(exc)

    async def _next_batch(self) -> list[_Waiting]:
        """The identifies waiting now (at least one, at most `admission_batch`) whose connection is still there."""
        batch = [await self._waiting.get()]
        while len(batch) < self.admission_batch and not self._waiting.empty():
            batch.append(self._waiting.get_nowait())
        ADMISSION_WAITING.set(self._waiting.qsize())
        return [w for w in batch if not w.admitted.done()]  # the connection went away while waiting

    async def _admit(self, batch: list[_Waiting]) -> None:
        results = await service.open_sessions(
            self.pool,
            identifies=[w.identify for w in batch],
            replica=self.replica,
            now=self.clock.now(),
            issuer=self.issuer,
            lease=self.lease,
        )
        opened: list[tuple[_Waiting, Session, Delivery | None]] = []
        for waiting, result in zip(batch, results, strict=True):
            if isinstance(result, Unauthorized):
                if not waiting.admitted.done():
                    waiting.admitted.set_exception(result)
                continue
            session = self._session(waiting, result)
            await self.attach(session)
            opened.append((waiting, session, result.delivery))
        if opened:
            # A change stored after the batch was read was notified before its sessions were attached: one
            # query over the batch catches up on it (it lands in the session before or after the welcome).
            current = await service.current_deliveries(
                self.pool, gateway_ids=[s.gateway.gateway_id for _, s, _ in opened]
            )
            for waiting, session, delivery in opened:
                newer = current.get(session.gateway.gateway_id)
                if newer is not None and newer.seq > max(session.sent_seq, delivery.seq if delivery else 0):
                    delivery = newer
                if not waiting.admitted.done():
                    waiting.admitted.set_result((session, delivery))
                else:
                    self.ended(session)  # its connection gave up waiting

    def _session(self, waiting: _Waiting, admitted: Admitted) -> Session:
        return Session(
            on_sent=self.sent,
            gateway=admitted.gateway,
            seq_held=waiting.identify.seq_held,
            send_json=waiting.send_json,
            close=waiting.close,
            welcomed=False,
            connected_at=admitted.connected_at,
            send_timeout_s=self.send_timeout_s,
        )

    async def _write_forever(self) -> None:
        while True:
            await self._written.wait()
            # Gather what arrives meanwhile: one statement per kind for the whole batch.
            await asyncio.sleep(self.write_interval_s)
            self._written.clear()
            try:
                await self._write_pending()
            except Exception as exc:
                # Kept for the next round; the gateway re-reports its seq on its next identify anyway.
                if is_database_away(exc):
                    log.warning("license_distributor.hub.session_writes_failed", error=repr(exc))
                else:
                    log.error("license_distributor.hub.session_writes_failed", exc_info=exc)
                self._written.set()
                await asyncio.sleep(1.0)

    async def _write_pending(self) -> None:
        acks, self._acks = self._acks, {}
        ended, self._ended = self._ended, {}
        if not acks and not ended:
            return
        try:
            await service.record_session_activity(
                self.pool,
                replica=self.replica,
                acks=[(gateway_id, seq, at) for gateway_id, (seq, at) in acks.items()],
                disconnects=[(gateway_id, mark, at) for gateway_id, (mark, at) in ended.items()],
            )
        except BaseException:
            for gateway_id, ack in acks.items():
                held = self._acks.get(gateway_id)
                if held is None or ack[0] > held[0]:
                    self._acks[gateway_id] = ack
            for gateway_id, end in ended.items():
                self._ended.setdefault(gateway_id, end)
            raise

    # ---- delivery failures --------------------------------------------------------------------------------

    async def _sweep_unacked_forever(self) -> None:
        """Bundles not acknowledged by their deadline become delivery failures (`ack_timeout`): reported between one
        deadline and a quarter more after the push. One pass over the unacknowledged pushes per tick, nothing per
        push; the ticks are counted on the service's clock (a moved clock moves them)."""
        interval = timedelta(seconds=self._sweep_interval_s)
        started = self.clock.now()
        while True:
            await self.clock.sleep_until(self.clock.now() + interval, at_most_s=self._sweep_interval_s)
            self._tick = max(self._tick, (self.clock.now() - started) // interval)
            late = [(gid, u) for gid, u in self._unacked.items() if self._tick - u[2] > self._deadline_ticks]
            for gateway_id, (session, seq, _) in late:
                del self._unacked[gateway_id]
                if not session.closed:
                    self._fail(gateway_id, seq, service.ACK_TIMEOUT)

    async def _report_failures_forever(self) -> None:
        while True:
            await self._failed.wait()
            self._failed.clear()
            try:
                await self._report_failures()
            except Exception as exc:
                # Kept for the next round: a failure is told once it is written, however late.
                if is_database_away(exc):
                    log.warning("license_distributor.hub.failure_reports_failed", error=repr(exc))
                else:
                    log.error("license_distributor.hub.failure_reports_failed", exc_info=exc)
                self._failed.set()
                await asyncio.sleep(1.0)

    async def _report_failures(self) -> None:
        while self._failures:
            (gateway_id, seq), (reason, at) = next(iter(self._failures.items()))
            told = await service.record_delivery_failure(
                self.pool, gateway_id=gateway_id, seq=seq, reason=reason, now=at
            )
            del self._failures[(gateway_id, seq)]
            kind = service.ACK_TIMEOUT if reason == service.ACK_TIMEOUT else "rejected"
            DELIVERY_FAILURES.labels(kind, "told" if told else "repeat").inc()

    # ---- notifications and pushes --------------------------------------------------------------------------

    async def _on_notification(self, message: AbstractIncomingMessage) -> None:
        # A notification is only a nudge: the bundles are in the database, and the heartbeat's reconciliation
        # (or the gateway's next connect) delivers them if handling this one fails. So it is never requeued.
        async with message.process(requeue=False, ignore_processed=True):
            try:
                envelope = Envelope.from_bytes(message.body)
                if envelope.type == BundlesChanged.routing_key():
                    await self.on_bundles_changed(BundlesChanged.model_validate(envelope.data))
                elif envelope.type == BundlesCaughtUp.routing_key():
                    await self.on_clock_caught_up(BundlesCaughtUp.model_validate(envelope.data))
            except ValidationError as exc:
                log.error("license_distributor.hub.unreadable_notification", error=str(exc))
            except Exception as exc:
                if is_database_away(exc):
                    log.warning("license_distributor.hub.notification_failed", error=repr(exc))
                else:
                    log.error("license_distributor.hub.notification_failed", exc_info=exc)

    def heard_locally(self, change: BundlesChanged, deliveries: Mapping[UUID, service.Delivery]) -> None:
        """A change this process just committed: pushed at once, without the broker's round trip, and with the
        bundles it signed, without reading them back."""
        task = asyncio.create_task(self._push_heard(change, deliveries), name=f"hub-local-push-{change.change_id}")
        self._local_pushes.add(task)
        task.add_done_callback(self._local_pushes.discard)

    async def _push_heard(self, change: BundlesChanged, deliveries: Mapping[UUID, service.Delivery]) -> None:
        try:
            await self.on_bundles_changed(change, trigger="local", signed=deliveries)
        except Exception as exc:
            # The broker's copy of the notification (or the heartbeat) delivers what this push could not.
            log.warning("license_distributor.hub.local_push_failed", exc_info=exc)

    async def on_bundles_changed(
        self,
        event: BundlesChanged,
        *,
        trigger: str = "change",
        signed: Mapping[UUID, service.Delivery] | None = None,
    ) -> None:
        """Push each changed bundle to its session here, then the reboots. The bundles are `signed` when this
        process made them, else read in one query for all of them."""
        if event.change_id in self._handled_changes:
            CHANGES_HEARD.labels(trigger, "skipped").inc()
            return
        CHANGES_HEARD.labels(trigger, "handled").inc()
        self._handled_changes[event.change_id] = None
        if len(self._handled_changes) > HANDLED_CHANGES_KEPT:
            self._handled_changes.popitem(last=False)
        stale = [
            b.gateway_id
            for b in event.bundles
            if (s := self.sessions.get(b.gateway_id)) is not None and not s.closed and b.seq > s.sent_seq
        ]
        reboots = {r.gateway_id: r.reason for r in event.reboots if r.gateway_id in self.sessions}
        if not stale and not reboots:
            return
        if signed is not None:
            deliveries: Mapping[UUID, service.Delivery] = signed
        else:
            deliveries = await service.current_deliveries(self.pool, gateway_ids=stale) if stale else {}
        await self._push_all(
            [(gateway_id, deliveries.get(gateway_id), reboots.get(gateway_id)) for gateway_id in {*stale, *reboots}],
            trigger=trigger,
        )

    async def on_clock_caught_up(self, event: BundlesCaughtUp) -> None:
        """Tell the gateways here on the clock's domains its new time. After the bundles its catch-up pushed: those
        this process signed are pushed first (their tasks are awaited), another replica's came before this in the
        notification queue."""
        if self._local_pushes:
            await asyncio.gather(*list(self._local_pushes), return_exceptions=True)
        domains = set(event.domain_ids)
        message = clock_message(event)
        await asyncio.gather(
            *(s.tell_clock(message) for s in list(self.sessions.values()) if s.gateway.domain_id in domains)
        )

    async def _push_all(self, pushes: list[tuple[UUID, Delivery | None, str | None]], *, trigger: str) -> None:
        async def one(gateway_id: UUID, delivery: Delivery | None, reboot: str | None) -> None:
            session = self.sessions.get(gateway_id)
            if session is None:
                return
            async with self._pushing:
                await session.push(delivery, trigger=trigger)
                if reboot is not None:
                    await session.reboot(reboot)
                    if reboot == service.GATEWAY_REMOVED_REASON:
                        await session.close(CLOSE_REMOVED, service.GATEWAY_REMOVED_REASON)

        await asyncio.gather(*(one(*push) for push in pushes))

    # ---- heartbeat -------------------------------------------------------------------------------------------

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            try:
                await repository.beat(self.pool, replica=self.replica, now=self.clock.now())
                await self._reconcile()
            except Exception as exc:
                # The heartbeat outlives any failure: a replica that stops beating looks gone to the others.
                if is_database_away(exc):
                    log.warning("license_distributor.hub.heartbeat_failed", error=repr(exc))
                else:
                    log.error("license_distributor.hub.heartbeat_failed", exc_info=exc)

    async def _reconcile(self) -> None:
        sessions = {gid: s for gid, s in self.sessions.items() if s.welcomed and not s.closed}
        if not sessions:
            return
        current = await repository.current_seqs(self.pool, gateway_ids=list(sessions))
        stale = [gid for gid, seq in current.items() if seq > sessions[gid].sent_seq]
        if not stale:
            return
        deliveries = await service.current_deliveries(self.pool, gateway_ids=stale)
        # Usually pushes already under way; counted apart, so a missed notification shows in /metrics.
        await self._push_all([(gid, deliveries.get(gid), None) for gid in stale], trigger="reconcile")
