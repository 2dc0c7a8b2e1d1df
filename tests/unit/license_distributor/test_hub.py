"""A replica's sessions: one per gateway, newest wins, and a dead socket never breaks the session replacing it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.websockets import WebSocketDisconnect

from license_distributor.hub import CLOSE_REPLACED, GatewayHub, Session
from license_distributor.service import Delivery, GatewaySession
from shared.clock import SystemClock

GATEWAY = GatewaySession(gateway_id=uuid.uuid4(), domain_id=uuid.uuid4(), hwid="a1b2c3d4e5f6")


class Socket:
    def __init__(self, *, dead: bool = False) -> None:
        self.dead = dead
        self.sent: list[dict[str, object]] = []
        self.closed_with: tuple[int, str] | None = None

    async def send_json(self, message: dict[str, object]) -> None:
        if self.dead:
            raise WebSocketDisconnect(code=1006)
        self.sent.append(message)

    async def close(self, code: int, reason: str) -> None:
        if self.dead:
            raise WebSocketDisconnect(code=1006)
        self.closed_with = (code, reason)


def session(socket: Socket, *, seq_held: int = 0) -> Session:
    return Session(gateway=GATEWAY, seq_held=seq_held, send_json=socket.send_json, close=socket.close)


def hub() -> GatewayHub:
    return GatewayHub(pool=None, broker=None, clock=SystemClock(), heartbeat_interval_s=10)  # type: ignore[arg-type]


async def test_a_reconnecting_gateway_replaces_its_old_session_even_when_the_old_socket_is_already_dead() -> None:
    replicas = hub()
    old, new = Socket(dead=True), Socket()
    await replicas.attach(session(old))
    fresh = session(new)
    await replicas.attach(fresh)
    assert replicas.sessions[GATEWAY.gateway_id] is fresh
    assert await fresh.push(Delivery(seq=1, jws="a.b.c"))
    assert new.sent == [{"type": "bundle", "seq": 1, "jws": "a.b.c"}]


async def test_the_replaced_session_is_closed_with_its_reason_and_its_late_detach_leaves_the_new_one() -> None:
    replicas = hub()
    old_socket = Socket()
    old = session(old_socket)
    await replicas.attach(old)
    fresh = session(Socket())
    await replicas.attach(fresh)
    assert old_socket.closed_with == (CLOSE_REPLACED, "replaced_by_new_session")
    assert not replicas.detach(old)
    assert replicas.sessions[GATEWAY.gateway_id] is fresh


async def test_a_bundle_goes_out_only_if_newer_than_what_the_gateway_holds_or_was_sent() -> None:
    socket = Socket()
    current = session(socket, seq_held=3)
    assert not await current.push(Delivery(seq=3, jws="x"))
    assert await current.push(Delivery(seq=5, jws="y"))
    assert not await current.push(Delivery(seq=4, jws="z"))
    assert [m["seq"] for m in socket.sent] == [5]


async def test_a_send_on_a_dead_socket_marks_the_session_closed_instead_of_failing_the_caller() -> None:
    broken = session(Socket(dead=True))
    assert not await broken.push(Delivery(seq=1, jws="a"))
    assert broken.closed
    await broken.reboot("rental_expired")
    await broken.close(CLOSE_REPLACED, "x")


async def test_a_gateway_on_a_test_clock_is_welcomed_with_its_time_and_told_a_later_one_after_its_bundle() -> None:
    """A clock that moved between the identify and the welcome is told after the welcome and the bundle, never
    lost and never before them."""
    socket = Socket()
    on_clock = GatewaySession(
        gateway_id=uuid.uuid4(),
        domain_id=uuid.uuid4(),
        hwid="a1b2c3d4e5f6",
        clock_time=datetime(2027, 3, 1, tzinfo=UTC),
    )
    waiting = Session(gateway=on_clock, seq_held=0, send_json=socket.send_json, close=socket.close, welcomed=False)
    moved: dict[str, object] = {"type": "clock", "test_clock_id": "c", "test_clock_time": "2027-03-02T00:00:00+00:00"}
    await waiting.tell_clock(moved)
    assert socket.sent == []
    assert await waiting.welcome(Delivery(seq=1, jws="a.b.c"))
    assert socket.sent == [
        {"type": "welcome", "test_clock_time": "2027-03-01T00:00:00+00:00"},
        {"type": "bundle", "seq": 1, "jws": "a.b.c"},
        moved,
    ]
    # Once welcomed, the clock's time goes out at once.
    later: dict[str, object] = {**moved, "test_clock_time": "2027-03-03T00:00:00+00:00"}
    await waiting.tell_clock(later)
    assert socket.sent[-1] == later


async def test_a_live_gateway_is_welcomed_without_a_clock() -> None:
    socket = Socket()
    assert await Session(
        gateway=GATEWAY, seq_held=0, send_json=socket.send_json, close=socket.close, welcomed=False
    ).welcome(None)
    assert socket.sent == [{"type": "welcome"}]
