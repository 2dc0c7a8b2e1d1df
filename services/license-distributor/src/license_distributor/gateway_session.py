"""The gateway WebSocket protocol (docs/design.md section 6), one connection from challenge to close.

challenge -> identify (Ed25519 over 'rental-gateway-auth:<nonce>:<hwid>') -> welcome, or a close whose
reason is the refusal's code (`unknown_gateway`, `bad_signature`); then a bundle whenever the gateway
holds an older seq, acks back, and `reboot` when the rental stops. Ping/pong is uvicorn's.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from license_distributor import service
from license_distributor.config import Settings
from license_distributor.hub import CLOSE_PROTOCOL, CLOSE_REFUSED, CLOSE_TIMEOUT, Close, GatewayHub, Session
from license_distributor.schemas import AckMessage, IdentifyMessage
from shared.errors import Unauthorized

log = structlog.get_logger()


async def serve_gateway(websocket: WebSocket, *, hub: GatewayHub, settings: Settings) -> None:
    await websocket.accept()
    nonce = secrets.token_urlsafe(24)
    await websocket.send_json({"type": "challenge", "nonce": nonce})
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), timeout=settings.identify_timeout_s)
        identify = IdentifyMessage.model_validate_json(raw)
    except TimeoutError:
        await websocket.close(code=CLOSE_TIMEOUT, reason="identify_timeout")
        return
    except ValidationError:
        await websocket.close(code=CLOSE_PROTOCOL, reason="identify_expected")
        return
    except WebSocketDisconnect:
        return
    try:
        gateway, delivery = await service.open_session(
            hub.pool,
            hwid=identify.hwid,
            nonce=nonce,
            signature=identify.signature,
            seq_held=identify.seq,
            replica=hub.replica,
            now=datetime.now(UTC),
            issuer=settings.bundle_issuer,
        )
    except Unauthorized as refused:
        log.warning("licensing.gateway.refused", hwid=identify.hwid, reason=refused.code)
        await websocket.close(code=CLOSE_REFUSED, reason=refused.code)
        return

    session = Session(gateway=gateway, seq_held=identify.seq, send_json=websocket.send_json, close=_closer(websocket))
    await hub.attach(session)
    log.info("licensing.gateway.connected", hwid=gateway.hwid, seq_held=identify.seq, replica=hub.replica)
    try:
        await websocket.send_json({"type": "welcome"})
        await session.push(delivery)
        # A change stored between identify and attach was notified before we listened: catch up once.
        await session.push(
            await service.latest_delivery(hub.pool, gateway_id=gateway.gateway_id, above=session.sent_seq)
        )
        while True:
            await _on_message(await websocket.receive_text(), session=session, hub=hub)
    except WebSocketDisconnect:
        pass
    except (RuntimeError, OSError) as exc:
        # A send racing a close (the socket went away under us): the session is over either way.
        log.info("licensing.gateway.session_broken", hwid=gateway.hwid, error=repr(exc))
    finally:
        session.closed = True
        if hub.detach(session):
            await service.close_session(
                hub.pool, gateway_id=gateway.gateway_id, replica=hub.replica, now=datetime.now(UTC)
            )
        log.info("licensing.gateway.disconnected", hwid=gateway.hwid)


async def _on_message(raw: str, *, session: Session, hub: GatewayHub) -> None:
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
        await service.acknowledge(hub.pool, gateway_id=session.gateway.gateway_id, seq=ack.seq, now=datetime.now(UTC))
        log.info("licensing.bundle.acknowledged", hwid=session.gateway.hwid, seq=ack.seq)
        return
    # Unknown frames are ignored, so newer gateways may say more than this server understands.
    log.info("licensing.gateway.frame_ignored", hwid=session.gateway.hwid)


def _closer(websocket: WebSocket) -> Close:
    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    return close
