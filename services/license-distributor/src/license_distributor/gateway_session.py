"""The gateway WebSocket protocol (DESIGN.md section 6), one connection from challenge to close.

challenge -> identify (Ed25519 over 'rental-gateway-auth:<nonce>:<hwid>') -> welcome, or a close whose
reason is the refusal's code (`unknown_gateway`, `bad_signature`); then a bundle whenever the gateway
holds an older seq, acks back, and `reboot` when the rental stops. Ping/pong is uvicorn's.

The identify waits its turn in the hub's admission queue (batched): during a reconnect storm a connection
is held open until its session is recorded, rather than refused or timed out.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import structlog
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from license_distributor.config import Settings
from license_distributor.hub import CLOSE_PROTOCOL, CLOSE_REFUSED, CLOSE_TIMEOUT, Close, GatewayHub, Session
from license_distributor.schemas import AckMessage, IdentifyMessage
from license_distributor.service import Delivery, Identify
from shared.db import is_database_away
from shared.errors import Unauthorized

log = structlog.get_logger()
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == GATEWAY_PATH:
            await serve_gateway(WebSocket(scope, receive, send), hub=self.hub, settings=self.settings)
            return
        await self.app(scope, receive, send)


async def serve_gateway(websocket: WebSocket, *, hub: GatewayHub, settings: Settings) -> None:
    opened = await _open(websocket, hub=hub, settings=settings)
    if opened is None:
        return
    session, delivery = opened
    try:
        welcomed = await session.welcome(delivery)
        del delivery  # nothing of the handshake stays with the session
        if welcomed:
            while True:
                _on_message(await websocket.receive_text(), session=session, hub=hub)
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
        await websocket.close(code=CLOSE_TIMEOUT, reason="identify_timeout")
        return None
    except ValidationError:
        await websocket.close(code=CLOSE_PROTOCOL, reason="identify_expected")
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
        await websocket.close(code=CLOSE_REFUSED, reason=refused.code)
        return None
    except Exception as exc:
        if not is_database_away(exc):
            raise
        await websocket.close(code=CLOSE_TRY_LATER, reason="try_again_later")
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


def _closer(websocket: WebSocket) -> Close:
    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    return close
