"""The web app's parts as real HTTP servers on free ports: services, the development provider, the BFF.

Shared by the BFF's integration tests and the browser tests; every server is stopped in a `finally`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from shared.config import ServiceSettings
from shared.dev_issuer import issue_token, load_or_create_key
from shared.runtime import ServiceSpec
from tests.harness import TestPlatform, free_port, serving, serving_service
from web_bff.config import BffSettings
from web_bff.dev_oidc.app import create_app as create_provider_app
from web_bff.dev_oidc.config import DevProviderSettings
from web_bff.main import create_app as create_bff_app

# The proxy's service name -> the service's package. Imported only when asked for, so a test that needs
# the wallet alone does not depend on the other services importing cleanly.
SERVICE_PACKAGES = {
    "wallet": "wallet",
    "contracts": "contracts",
    "provisioning": "provisioning",
    "licensing": "license_distributor",
}


def service_spec_and_settings(name: str) -> tuple[ServiceSpec[Any], type[ServiceSettings]]:
    package = SERVICE_PACKAGES[name]
    spec: ServiceSpec[Any] = importlib.import_module(f"{package}.main").SPEC
    settings_cls: type[ServiceSettings] = importlib.import_module(f"{package}.config").Settings
    return spec, settings_cls


@dataclass
class WebStack:
    bff_url: str
    issuer: str
    service_urls: dict[str, str] = field(default_factory=dict)


@asynccontextmanager
async def running_web_stack(
    platform: TestPlatform,
    *,
    services: Sequence[str] = ("wallet",),
    spa_dist: Path | None = None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
    bff_overrides: Mapping[str, object] | None = None,
) -> AsyncIterator[WebStack]:
    """The services (settings `overrides` by service name), the development provider and the BFF (settings
    `bff_overrides`) on free ports."""
    provider_port, bff_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{provider_port}/dev-issuer"
    bff_url = f"http://127.0.0.1:{bff_port}"
    async with AsyncExitStack() as stack:
        service_urls: dict[str, str] = {}
        for name in services:
            spec, settings_cls = service_spec_and_settings(name)
            # The services trust the provider's issuer name; its key is the run's development key.
            settings = platform.settings(
                settings_cls, auth_issuer=issuer, http_port=free_port(), **(overrides or {}).get(name, {})
            )
            service_urls[name] = await stack.enter_async_context(serving_service(spec, settings))
        provider = DevProviderSettings(
            issuer=issuer,
            key_dir=platform.dev_dir,
            redirect_uris=[f"{bff_url}/auth/callback"],
        )
        await stack.enter_async_context(serving(create_provider_app(provider), port=provider_port))
        bff = BffSettings(public_url=bff_url, oidc_issuer=issuer, services=service_urls)
        updates = {**(bff_overrides or {}), **({"spa_dist": spa_dist} if spa_dist is not None else {})}
        bff = bff.model_copy(update=updates)
        await stack.enter_async_context(serving(create_bff_app(bff), port=bff_port))
        yield WebStack(bff_url=bff_url, issuer=issuer, service_urls=service_urls)


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def sign_in(
    client: httpx.AsyncClient, stack: WebStack, *, user: str, account_id: UUID | None = None
) -> httpx.Response:
    """Walk the browser's path: BFF login → provider's picker → pick → BFF callback. Returns the last answer."""
    start = await client.get(f"{stack.bff_url}/auth/login", params={"return_to": "/rental"})
    assert start.status_code == 302, start.text
    picker = await client.get(start.headers["location"])
    assert picker.status_code == 200, picker.text
    form = {name: unescape(value) for name, value in _HIDDEN.findall(picker.text)}
    form["user"] = user
    if account_id is not None:
        form["account_id"] = str(account_id)
    decision = await client.post(f"{stack.issuer}/authorize", data=form)
    assert decision.status_code == 303, decision.text
    return await client.get(decision.headers["location"])


def bearer(platform: TestPlatform, stack: WebStack, *, role: str, account_id: UUID | None = None) -> dict[str, str]:
    """A header with a token the stack's services accept (they trust the provider's issuer name)."""
    token = issue_token(
        load_or_create_key(platform.dev_dir),
        roles=[role],
        account_id=str(account_id) if account_id else None,
        # The demo partner who signs in to the web app: partners see only the accounts they opened.
        subject="demo-partner" if role == "partner" else None,
        issuer=stack.issuer,
    )
    return {"Authorization": f"Bearer {token}"}


async def open_account(stack: WebStack, platform: TestPlatform, name: str) -> UUID:
    """An account opened by a partner straight at the stack's wallet (what a test starts from, not what it tests)."""
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(
            f"{stack.service_urls['wallet']}/v1/accounts",
            json={"name": name},
            headers=bearer(platform, stack, role="partner"),
        )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])
