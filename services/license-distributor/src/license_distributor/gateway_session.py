"""The gateway WebSocket protocol (docs/design.md section 6), one connection from challenge to close.

challenge -> identify (Ed25519 over 'rental-gateway-auth:<nonce>:<hwid>') -> welcome, or a close whose
reason is the refusal's code (`unknown_gateway`, `bad_signature`); then a bundle whenever the one the gateway
holds (`seq`, 0: none) is not the current one, with a seq above its `floor` (the highest it ever accepted;
re-issued above it if need be), acks back (or a `reject` saying why it refused one: a licence delivery
failure), and `reboot` when the rental stops. Ping/pong is uvicorn's.

The identify waits its turn in the hub's admission queue (batched): during a reconnect storm a connection
is held open until its session is recorded, rather than refused or timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable
from typing import Any

import structlog
from prometheus_client import Counter
from pydantic import ValidationError
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from license_distributor.config import Settings
from license_distributor.hub import CLOSE_PROTOCOL, CLOSE_REFUSED, CLOSE_TIMEOUT, Close, GatewayHub, Session
from license_distributor.schemas import AckMessage, IdentifyMessage, RejectMessage
from license_distributor.service import Delivery, Identify
from shared.db import is_database_away
from shared.refusals import Unauthorized
from shared.runtime import Runtime

log = structlog.get_logger()
IDENTIFY_TIMEOUTS = Counter(
    "license_distributor_identify_timeouts_total", "Connections closed for sending no identify in time"
)
# What a send or close to a gateway that has gone raises.
GONE = (WebSocketDisconnect, ClientDisconnected, RuntimeError, OSError)
# A refused handshake is told to come back after a few seconds (the gateway's own back-off decides).
RETRY_AFTER_S = (1, 2, 3, 4, 5)
# The database is away: the gateway comes back after its back-off (1013: try again later).
CLOSE_TRY_LATER = 1013


GATEWAY_PATH = "/v1/gateways/connect"
# The name of the hub among the runtime's components.
HUB = "gateway_hub"


class _Inbox:
    """What uvicorn's WebSocket protocol needs of its receive queue (`put_nowait`, `get`, `empty`), for its one
    receiver (the app's `receive`), without `asyncio.Queue`'s four deques: about 3 KiB per connection for as long as
    it lives, more than any other object of an idle gateway session (tracemalloc). A message is kept until it is
    taken, so a `get` cancelled while waiting (an identify timeout) loses nothing."""

    __slots__ = ("_messages", "_waiter")

    def __init__(self) -> None:
        self._messages: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, message: Any) -> None:
        if self._messages is None:
            self._messages = [message]
        else:
            self._messages.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._messages

    async def get(self) -> Any:
        while not self._messages:
            if self._waiter is not None:
                raise RuntimeError("a WebSocket connection has one receiver at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages.pop(0)
        if not self._messages:
            self._messages = None
        return message


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol (its default) with the lighter receive queue above: the distributor
    holds one per gateway, ten thousand at a time (`main.SERVER_OPTIONS`, uvicorn's `ws` option)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]


class GatewaySockets:
    """The gateway WebSocket served straight from the ASGI server, ahead of the HTTP middleware and routing.

    Ten thousand sessions each keep their coroutine stack for as long as they live: through FastAPI's
    middleware, router and dependency machinery that is about 10 KiB per connection more than the socket
    itself (measured: 20 KiB per idle connection under uvicorn with a plain ASGI app, 30 KiB with a FastAPI
    route). Everything else still goes to the app. Declared as the service's `front` (`main.py`); the hub is
    the runtime's component, started before the first connection is served.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: it hands over the one to await, one frame less kept by every session.
        if scope["type"] == "websocket" and scope["path"] == GATEWAY_PATH:
            runtime: Runtime[Settings] = scope["app"].state.runtime
            hub = runtime.component(HUB, GatewayHub)
            return serve_gateway(
                WebSocket(scope, receive, send), hub=hub, settings=runtime.settings, receive=receive, send=send
            )
        return self.app(scope, receive, send)


async def serve_gateway(
    websocket: WebSocket,
    *,
    hub: GatewayHub,
    settings: Settings,
    receive: Receive | None = None,
    send: Send | None = None,
) -> None:
    """One connection, if a handshake slot is free: otherwise 503 at once, and the gateway backs off.

    A reconnect of every gateway at once would otherwise start thousands of handshakes together, finish none of
    them before the gateways' own timeouts, and have them all come back to start again. Refusing beyond
    `handshake_limit` costs an HTTP response; the handshakes let in finish in time.

    `receive` and `send`, the connection's own ASGI callables, are what a welcomed session keeps: it waits on
    `receive` straight, without the two coroutines of Starlette's `receive_text` suspended on top of every idle
    session, and sends through a slotted `_SessionSocket` rather than keep Starlette's WebSocket for its life.
    """
    if not hub.begin_handshake():
        with contextlib.suppress(*GONE):
            await websocket.send_denial_response(
                PlainTextResponse("busy", status_code=503, headers={"Retry-After": str(secrets.choice(RETRY_AFTER_S))})
            )
        return
    opened = await _handshake(websocket, hub=hub, settings=settings, send=send)
    if opened is None:
        return
    session, delivery = opened
    try:
        try:
            sent = await session.welcome(delivery)
        finally:
            hub.end_handshake()
        del delivery, opened  # nothing of the handshake stays with the session
        if sent and receive is None:
            while True:
                _on_message(await websocket.receive_text(), session=session, hub=hub)
        del websocket  # the handshake's: the session sends through its _SessionSocket
        while sent and receive is not None:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:  # a binary frame: not part of the protocol
                log.warning("license_distributor.gateway.unreadable_frame", hwid=session.gateway.hwid)
                continue
            _on_message(text, session=session, hub=hub)
    except WebSocketDisconnect:
        pass
    except (RuntimeError, OSError) as exc:
        # A send racing a close (the socket went away under us): the session is over either way.
        log.info("license_distributor.gateway.session_broken", hwid=session.gateway.hwid, error=repr(exc))
    finally:
        session.closed = True
        hub.ended(session)
        log.debug("license_distributor.gateway.disconnected", hwid=session.gateway.hwid)


async def _handshake(
    websocket: WebSocket, *, hub: GatewayHub, settings: Settings, send: Send | None
) -> tuple[Session, Delivery | None] | None:
    """`_open` holding a handshake slot: given back here if it fails or is refused, by the welcome otherwise.
    A step of its own, finished before the session's life begins, so no idle session keeps its frame."""
    try:
        opened = await _open(websocket, hub=hub, settings=settings, send=send)
    except BaseException:
        hub.end_handshake()
        raise
    if opened is None:
        hub.end_handshake()
    return opened


async def _open(
    websocket: WebSocket, *, hub: GatewayHub, settings: Settings, send: Send | None = None
) -> tuple[Session, Delivery | None] | None:
    """challenge -> identify -> admission; the session and what it lacks, or None once refused and closed."""
    await websocket.accept()
    nonce = secrets.token_urlsafe(24)
    try:
        await websocket.send_json({"type": "challenge", "nonce": nonce})
        raw = await asyncio.wait_for(websocket.receive_text(), timeout=settings.identify_timeout_s)
        identify = IdentifyMessage.model_validate_json(raw)
    except TimeoutError:
        IDENTIFY_TIMEOUTS.inc()
        await _close(websocket, CLOSE_TIMEOUT, "identify_timeout")
        return None
    except ValidationError:
        await _close(websocket, CLOSE_PROTOCOL, "identify_expected")
        return None
    except (WebSocketDisconnect, RuntimeError, OSError):
        return None
    try:
        socket = _SessionSocket(send) if send is not None else None
        opened = await hub.open_session(
            Identify(
                hwid=identify.hwid,
                nonce=nonce,
                signature=identify.signature,
                seq_held=identify.seq,
                floor=identify.floor,
            ),
            send_json=websocket.send_json if socket is None else socket.send_json,
            close=_closer(websocket) if socket is None else socket.close,
        )
    except Unauthorized as refused:
        log.warning("license_distributor.gateway.refused", hwid=identify.hwid, reason=refused.code)
        await _close(websocket, CLOSE_REFUSED, refused.code)
        return None
    except Exception as exc:
        if not is_database_away(exc):
            raise
        await _close(websocket, CLOSE_TRY_LATER, "try_again_later")
        return None
    log.debug("license_distributor.gateway.connected", hwid=identify.hwid, seq_held=identify.seq, replica=hub.replica)
    return opened


def _on_message(raw: str, *, session: Session, hub: GatewayHub) -> None:
    try:
        message = json.loads(raw)
    except ValueError:
        log.warning("license_distributor.gateway.unreadable_frame", hwid=session.gateway.hwid)
        return
    if isinstance(message, dict) and message.get("type") == "ack":
        try:
            ack = AckMessage.model_validate(message)
        except ValidationError:
            log.warning("license_distributor.gateway.bad_ack", hwid=session.gateway.hwid)
            return
        hub.acknowledged(session, ack.seq)
        log.debug("license_distributor.bundle.acknowledged", hwid=session.gateway.hwid, seq=ack.seq)
        return
    if isinstance(message, dict) and message.get("type") == "reject":
        try:
            reject = RejectMessage.model_validate(message)
        except ValidationError:
            log.warning("license_distributor.gateway.bad_reject", hwid=session.gateway.hwid)
            return
        hub.rejected(session, reject.seq, reject.reason)
        log.info("license_distributor.bundle.rejected", hwid=session.gateway.hwid, seq=reject.seq, reason=reject.reason)
        return
    # Unknown frames are ignored, so newer gateways may say more than this server understands.
    log.info("license_distributor.gateway.frame_ignored", hwid=session.gateway.hwid)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # The gateway may have gone already (often why we close): nothing to tell it then.
    with contextlib.suppress(*GONE):
        await websocket.close(code=code, reason=reason)


class _SessionSocket:
    """What a welcomed session keeps of its connection: the ASGI `send`, and whether it sent the close. Sends as
    Starlette's WebSocket does (compact JSON text frames; nothing after the close), at a fraction of its size."""

    __slots__ = ("_closed", "_send")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._closed = False

    async def send_json(self, message: dict[str, object]) -> None:
        if self._closed:
            raise RuntimeError('Cannot call "send" once a close message has been sent.')
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            raise RuntimeError('Cannot call "send" once a close message has been sent.')
        self._closed = True
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


def _closer(websocket: WebSocket) -> Close:
    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    return close
