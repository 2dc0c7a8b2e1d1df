"""This replica's gateway sessions, and its own broker queue of bundle notifications.

Replicas share nothing in memory. Each declares an exclusive, auto-deleted queue bound to the events
exchange for `licensing.bundle_issued` and `licensing.gateway_reboot_ordered` (the outbox publishes them
after the bundle is stored), so every replica hears of every change and pushes to the gateways connected
to it. A heartbeat marks the replica alive (a gateway is online while its replica beats) and reconciles
its sessions against the database, so a lost notification delays a push by one beat at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from license_distributor import repository, service
from license_distributor.service import Delivery, GatewaySession
from shared.db import is_database_away
from shared.events.licensing import BundleIssued, GatewayRebootOrdered
from shared.messaging.broker import Broker
from shared.messaging.envelope import Envelope
from shared.runtime import broker_away, database_away_at_start, until_reachable

log = structlog.get_logger()
NOTIFICATION_KEYS = (BundleIssued.routing_key(), GatewayRebootOrdered.routing_key())
# WebSocket close codes (4000-4999 are the application's): the reason string says which.
CLOSE_PROTOCOL = 4400
CLOSE_REFUSED = 4401
CLOSE_TIMEOUT = 4408
CLOSE_REPLACED = 4409
CLOSE_REMOVED = 4410
CLOSE_SHUTDOWN = 1012

SendJson = Callable[[dict[str, object]], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class Session:
    """One gateway's WebSocket on this replica. Sends are serialised; a bundle goes out only if newer."""

    def __init__(self, *, gateway: GatewaySession, seq_held: int, send_json: SendJson, close: Close) -> None:
        self.gateway = gateway
        self.sent_seq = seq_held
        self._send_json = send_json
        self._close = close
        self._lock = asyncio.Lock()
        self.closed = False

    async def push(self, delivery: Delivery | None) -> bool:
        """Send the bundle unless the gateway has it or was already sent it; True if it went out now."""
        if delivery is None:
            return False
        async with self._lock:
            if self.closed or delivery.seq <= self.sent_seq:
                return False
            if not await self._send({"type": "bundle", "seq": delivery.seq, "jws": delivery.jws}):
                return False
            self.sent_seq = delivery.seq
        log.info("licensing.bundle.sent", hwid=self.gateway.hwid, seq=delivery.seq)
        return True

    async def reboot(self, reason: str) -> None:
        async with self._lock:
            if self.closed or not await self._send({"type": "reboot", "reason": reason}):
                return
        log.info("licensing.gateway.reboot_sent", hwid=self.gateway.hwid, reason=reason)

    async def _send(self, message: dict[str, object]) -> bool:
        """False if the socket went away meanwhile: the gateway gets the bundle when it reconnects."""
        try:
            await self._send_json(message)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            self.closed = True
            log.info("licensing.gateway.send_failed", hwid=self.gateway.hwid, error=repr(exc))
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        async with self._lock:
            if self.closed:
                return
            self.closed = True
        # The socket may be gone already (that is often why a new session replaces it): nothing to close then.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._close(code, reason)


class GatewayHub:
    def __init__(self, *, pool: asyncpg.Pool, broker: Broker, heartbeat_interval_s: float) -> None:
        self.pool = pool
        self.broker = broker
        self.heartbeat_interval_s = heartbeat_interval_s
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.sessions: dict[UUID, Session] = {}
        self._channel: AbstractRobustChannel | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def queue_name(self) -> str:
        return self.broker.topology.name(f"license-distributor.replica.{self.replica}")

    async def start(self, *, startup_wait_s: float) -> None:
        """Subscribe to the bundle notifications and announce this replica; either server may be restarting
        just then, so each step waits for it (up to `startup_wait_s`), as the rest of the start-up does."""
        await until_reachable("broker", self._subscribe, away=broker_away, within_s=startup_wait_s)
        await until_reachable(
            "database",
            lambda: repository.beat(self.pool, replica=self.replica, now=datetime.now(UTC)),
            away=database_away_at_start,
            within_s=startup_wait_s,
        )
        self._heartbeat = asyncio.create_task(self._beat_forever(), name=f"hub-heartbeat-{self.replica}")
        log.info("licensing.hub.started", replica=self.replica, queue=self.queue_name)

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
            with contextlib.suppress(Exception):
                await channel.close()
            raise
        self._channel = channel

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        for session in list(self.sessions.values()):
            await session.close(CLOSE_SHUTDOWN, "distributor_restarting")
        self.sessions.clear()
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await repository.release_replica(self.pool, replica=self.replica, now=datetime.now(UTC))
        log.info("licensing.hub.stopped", replica=self.replica)

    async def attach(self, session: Session) -> None:
        """A gateway reconnecting to this replica replaces its older session here."""
        previous = self.sessions.get(session.gateway.gateway_id)
        self.sessions[session.gateway.gateway_id] = session
        if previous is not None and previous is not session:
            await previous.close(CLOSE_REPLACED, "replaced_by_new_session")

    def detach(self, session: Session) -> bool:
        """False when a newer session of the same gateway has taken its place."""
        if self.sessions.get(session.gateway.gateway_id) is session:
            del self.sessions[session.gateway.gateway_id]
            return True
        return False

    async def _on_notification(self, message: AbstractIncomingMessage) -> None:
        # A notification is only a nudge: the bundle is in the database, and the heartbeat's reconciliation
        # (or the gateway's next connect) delivers it if handling this one fails. So it is never requeued.
        async with message.process(requeue=False, ignore_processed=True):
            try:
                envelope = Envelope.from_bytes(message.body)
                if envelope.type == BundleIssued.routing_key():
                    await self._on_bundle_issued(BundleIssued.model_validate(envelope.data))
                elif envelope.type == GatewayRebootOrdered.routing_key():
                    await self._on_reboot_ordered(GatewayRebootOrdered.model_validate(envelope.data))
            except ValidationError as exc:
                log.error("licensing.hub.unreadable_notification", error=str(exc))
            except Exception as exc:
                if is_database_away(exc):
                    log.warning("licensing.hub.notification_failed", error=repr(exc))
                else:
                    log.error("licensing.hub.notification_failed", exc_info=exc)

    async def _on_bundle_issued(self, event: BundleIssued) -> None:
        session = self.sessions.get(event.gateway_id)
        if session is None or event.seq <= session.sent_seq:
            return
        if event.jws:
            # Stored in the transaction that wrote this notification; out-of-order ones are skipped by seq.
            await session.push(Delivery(seq=event.seq, jws=event.jws))
            return
        # An older distributor's notification without the bundle: read the newest stored one.
        await session.push(
            await service.latest_delivery(self.pool, gateway_id=event.gateway_id, above=session.sent_seq)
        )

    async def _on_reboot_ordered(self, event: GatewayRebootOrdered) -> None:
        session = self.sessions.get(event.gateway_id)
        if session is None:
            return
        await session.reboot(event.reason)
        if event.reason == service.GATEWAY_REMOVED_REASON:
            await session.close(CLOSE_REMOVED, service.GATEWAY_REMOVED_REASON)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            try:
                await repository.beat(self.pool, replica=self.replica, now=datetime.now(UTC))
                await self._reconcile()
            except Exception as exc:
                # The heartbeat outlives any failure: a replica that stops beating looks gone to the others.
                if is_database_away(exc):
                    log.warning("licensing.hub.heartbeat_failed", error=repr(exc))
                else:
                    log.error("licensing.hub.heartbeat_failed", exc_info=exc)

    async def _reconcile(self) -> None:
        current = await repository.current_seqs(self.pool, gateway_ids=list(self.sessions))
        for gateway_id, seq in current.items():
            session = self.sessions.get(gateway_id)
            if session is None or session.closed or seq <= session.sent_seq:
                continue
            delivery = await service.latest_delivery(
                self.pool, gateway_id=session.gateway.gateway_id, above=session.sent_seq
            )
            # Usually a push already under way; logged only if this reconciliation was the one to send it.
            if await session.push(delivery) and delivery is not None:
                log.warning("licensing.hub.push_caught_up", hwid=session.gateway.hwid, seq=delivery.seq)
