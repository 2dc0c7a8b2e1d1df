"""What the wallet's webhook and e-mail tests share: a real HTTP receiver, the Standard Webhooks check written from
the specification, the API calls on endpoints and deliveries, and an SMTP sink of their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from scripts.smtp_sink import SmtpSink, serving_smtp_sink
from tests.harness import TestPlatform, eventually, free_port, serving


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An independent check of a delivery, written from the Standard Webhooks specification (not from the
    wallet's code): the signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the key is the base64
    after `whsec_`, the MAC HMAC-SHA256 in base64, and `webhook-signature` is a space-separated list of
    `v1,<mac>`. Returns the payload; raises ValueError if no signature matches."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if not secret.startswith("whsec_"):
        raise ValueError("not a Standard Webhooks secret")
    key = base64.b64decode(secret[len("whsec_") :])
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            payload: dict[str, Any] = json.loads(body)
            return payload
    raise ValueError("no signature matches")


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.body)
        return body


@dataclass
class Receiver:
    """A webhook receiver on a real socket: every request kept; a path in `failing` answers 503."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def accepted(self, path: str) -> Counter[str]:
        """How many times each webhook-id was answered 2xx at `path`."""
        return Counter(h.webhook_id for h in self.at(path) if 200 <= h.answered < 300)


@asynccontextmanager
async def serving_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = FastAPI()

    @app.post("/{path}")
    async def hook(path: str, request: Request) -> Response:
        answered = 503 if path in receiver.failing else 204
        receiver.hits.append(Hit(path, dict(request.headers), await request.body(), answered))
        return Response(status_code=answered)

    async with serving(app) as url:
        receiver.url = url
        yield receiver


@asynccontextmanager
async def smtp_sink() -> AsyncIterator[tuple[SmtpSink, int]]:
    """The project's SMTP sink (the one `make run` starts) on a port of the test's own."""
    port = free_port()
    async with serving_smtp_sink("127.0.0.1", port) as sink:
        yield sink, port


async def register_endpoint(
    wallet: httpx.AsyncClient, headers: dict[str, str], account_id: str, url: str, **fields: object
) -> dict[str, Any]:
    response = await wallet.post(
        f"/v1/accounts/{account_id}/webhook-endpoints", json={"url": url, **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(
    wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, endpoint_id: str
) -> list[dict[str, Any]]:
    response = await wallet.get(
        f"/v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/deliveries?limit=200",
        headers=platform.auth("customer", account_id=account_id),
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def deliveries_where(
    wallet: httpx.AsyncClient,
    platform: TestPlatform,
    account_id: str,
    endpoint_id: str,
    *,
    count: int,
    until: Any,
    what: str,
    within: float = 20,
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once there are `count` and each meets `until`."""

    async def probe() -> list[dict[str, Any]]:
        return await deliveries(wallet, platform, account_id, endpoint_id)

    return await eventually(
        probe, until=lambda items: len(items) == count and all(until(d) for d in items), within=within, what=what
    )


async def put_contacts(wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, emails: list[str]) -> None:
    response = await wallet.put(
        f"/v1/accounts/{account_id}/contacts",
        json={"emails": emails},
        headers=platform.auth("customer", account_id=account_id),
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == emails
