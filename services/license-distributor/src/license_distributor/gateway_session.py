"""The gateway WebSocket protocol (docs/design.md section 6), one connection from challenge to close.

challenge -> identify (Ed25519 over 'rental-gateway-auth:<nonce>:<hwid>') -> welcome, or a close whose
reason is the refusal's code (`unknown_gateway`, `bad_signature`); then a bundle whenever the gateway
holds an older seq, acks back, and `reboot` when the rental stops. Ping/pong is uvicorn's.

The identify waits its turn in the hub's admission queue (batched): during a reconnect storm a connection
is held open until its session is recorded, rather than refused or timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable

import structlog
from prometheus_client import Counter
from pydantic import ValidationError
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.utils import ClientDisconnected

from license_distributor.config import Settings
from license_distributor.hub import CLOSE_PROTOCOL, CLOSE_REFUSED, CLOSE_TIMEOUT, Close, GatewayHub, Session
from license_distributor.schemas import AckMessage, IdentifyMessage
from license_distributor.service import Delivery, Identify
from shared.db import is_database_away
from shared.errors import Unauthorized

log = structlog.get_logger()
IDENTIFY_TIMEOUTS = Counter("licensing_identify_timeouts_total", "Connections closed for sending no identify in time")
# What a send or close to a gateway that has gone raises.
GONE = (WebSocketDisconnect, ClientDisconnected, RuntimeError, OSError)
# A refused handshake is told to come back after a few seconds (the gateway's own back-off decides).
RETRY_AFTER_S = (1, 2, 3, 4, 5)
# The database is away: the gateway comes back after its back-off (1013: try again later).
CLOSE_TRY_LATER = 1013


GATEWAY_PATH = "/v1/gateways/connect"


class GatewaySockets:
    """The gateway WebSocket served straight from the ASGI server, ahead of the HTTP middleware and routing.

    Ten thousand sessions each keep their coroutine stack for as long as they live: through FastAPI's
    middleware, router and dependency machinery that is about 10 KiB per connection more than the socket
    itself (measured: 20 KiB per idle connection under uvicorn with a plain ASGI app, 30 KiB with a FastAPI
    route). Everything else still goes to the app. Installed by the hub's lifespan (`api.py`).
    """

    def __init__(self, app: ASGIApp, *, hub: GatewayHub, settings: Settings) -> None:
        self.app = app
        self.hub = hub
        self.settings = settings

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: it hands over the one to await, one frame less kept by every session.
        if scope["type"] == "websocket" and scope["path"] == GATEWAY_PATH:
            return serve_gateway(WebSocket(scope, receive, send), hub=self.hub, settings=self.settings, receive=receive)
        return self.app(scope, receive, send)


async def serve_gateway(
    websocket: WebSocket, *, hub: GatewayHub, settings: Settings, receive: Receive | None = None
) -> None:
    """One connection, if a handshake slot is free: otherwise 503 at once, and the gateway backs off.

    A reconnect of every gateway at once would otherwise start thousands of handshakes together, finish none of
    them before the gateways' own timeouts, and have them all come back to start again. Refusing beyond
    `handshake_limit` costs an HTTP response; the handshakes let in finish in time.

    `receive`, the connection's own ASGI receive, is what a welcomed session waits on: read straight from it,
    without the two coroutines of Starlette's `receive_text` suspended on top of every idle session.
    """
    if not hub.begin_handshake():
        with contextlib.suppress(*GONE):
            await websocket.send_denial_response(
                PlainTextResponse("busy", status_code=503, headers={"Retry-After": str(secrets.choice(RETRY_AFTER_S))})
            )
        return
    try:
        opened = await _open(websocket, hub=hub, settings=settings)
    except BaseException:
        hub.end_handshake()
        raise
    if opened is None:
        hub.end_handshake()
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
        while sent and receive is not None:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:  # a binary frame: not part of the protocol
                log.warning("licensing.gateway.unreadable_frame", hwid=session.gateway.hwid)
                continue
            _on_message(text, session=session, hub=hub)
    except WebSocketDisconnect:
        pass
    except (RuntimeError, OSError) as exc:
        # A send racing a close (the socket went away under us): the session is over either way.
        log.info("licensing.gateway.session_broken", hwid=session.gateway.hwid, error=repr(exc))
    finally:
        session.closed = True
        hub.ended(session)
        log.debug("licensing.gateway.disconnected", hwid=session.gateway.hwid)


async def _open(websocket: WebSocket, *, hub: GatewayHub, settings: Settings) -> tuple[Session, Delivery | None] | None:
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
        opened = await hub.open_session(
            Identify(hwid=identify.hwid, nonce=nonce, signature=identify.signature, seq_held=identify.seq),
            send_json=websocket.send_json,
            close=_closer(websocket),
        )
    except Unauthorized as refused:
        log.warning("licensing.gateway.refused", hwid=identify.hwid, reason=refused.code)
        await _close(websocket, CLOSE_REFUSED, refused.code)
        return None
    except Exception as exc:
        if not is_database_away(exc):
            raise
        await _close(websocket, CLOSE_TRY_LATER, "try_again_later")
        return None
    log.debug("licensing.gateway.connected", hwid=identify.hwid, seq_held=identify.seq, replica=hub.replica)
    return opened


def _on_message(raw: str, *, session: Session, hub: GatewayHub) -> None:
    try:
        message = json.loads(raw)
    except ValueError:
        log.warning("licensing.gateway.unreadable_frame", hwid=session.gateway.hwid)
        return
    if isinstance(message, dict) and message.get("type") == "ack":
        try:
            ack = AckMessage.model_validate(message)
        except ValidationError:
            log.warning("licensing.gateway.bad_ack", hwid=session.gateway.hwid)
            return
        hub.acknowledged(session, ack.seq)
        log.debug("licensing.bundle.acknowledged", hwid=session.gateway.hwid, seq=ack.seq)
        return
    # Unknown frames are ignored, so newer gateways may say more than this server understands.
    log.info("licensing.gateway.frame_ignored", hwid=session.gateway.hwid)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # The gateway may have gone already (often why we close): nothing to tell it then.
    with contextlib.suppress(*GONE):
        await websocket.close(code=code, reason=reason)


def _closer(websocket: WebSocket) -> Close:
    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    return close
