"""The web image's two containers against the services' containers: the SPA, a sign-in, the proxy.

Run by `make test-containers` (tests/containers/run.py) with `RENTAL_E2E_WEB_URL` (the BFF),
`RENTAL_E2E_OIDC_URL` (the development OpenID provider) and `RENTAL_E2E_URLS` (the services); skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest

from shared.config import DEV_ISSUER

pytestmark = pytest.mark.skipif(
    not os.environ.get("RENTAL_E2E_WEB_URL"), reason="against running containers only (make test-containers)"
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    # A cookie jar and no automatic redirects: each hop is followed as a browser would.
    async with httpx.AsyncClient(follow_redirects=False, timeout=20) as client:
        yield client


def web_url() -> str:
    return os.environ["RENTAL_E2E_WEB_URL"].rstrip("/")


async def test_the_bff_serves_the_built_spa(browser: httpx.AsyncClient) -> None:
    index = await browser.get(f"{web_url()}/")
    assert index.status_code == 200
    assert '<div id="root"></div>' in index.text
    script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
    assert script, index.text
    asset = await browser.get(f"{web_url()}{script.group(1)}")
    assert asset.status_code == 200
    assert len(asset.content) > 10_000  # the React bundle built in the image's Node stage


async def test_the_provider_publishes_the_issuer_the_services_trust(browser: httpx.AsyncClient) -> None:
    discovery = await browser.get(f"{os.environ['RENTAL_E2E_OIDC_URL']}/dev-issuer/.well-known/openid-configuration")
    assert discovery.status_code == 200
    assert discovery.json()["issuer"] == DEV_ISSUER


async def test_an_operator_signs_in_and_reaches_the_wallet_through_the_proxy(browser: httpx.AsyncClient) -> None:
    unsigned = await browser.get(f"{web_url()}/api/wallet/v1/partners/me/orders")
    assert unsigned.status_code == 401, unsigned.text

    start = await browser.get(f"{web_url()}/auth/login", params={"return_to": "/rental"})
    assert start.status_code == 302, start.text
    picker = await browser.get(start.headers["location"])
    assert picker.status_code == 200, picker.text
    form = {name: unescape(value) for name, value in HIDDEN.findall(picker.text)}
    form["user"] = "partner"
    decision = await browser.post(f"{DEV_ISSUER}/authorize", data=form)
    assert decision.status_code == 303, decision.text
    callback = await browser.get(decision.headers["location"])
    assert callback.status_code == 302, callback.text
    assert callback.headers["location"] == "/rental"

    me = await browser.get(f"{web_url()}/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["partner"]
    # The BFF calls the wallet container with the partner's token: the wallet's own answer comes back.
    opened = await browser.post(
        f"{web_url()}/api/wallet/v1/accounts", json={"name": "Container GmbH"}, headers={"Origin": web_url()}
    )
    assert opened.status_code == 201, opened.text
    services = json.loads(os.environ["RENTAL_E2E_URLS"])
    async with httpx.AsyncClient(timeout=10) as http:
        direct = await http.get(f"{services['wallet']}/v1/accounts/{opened.json()['id']}")
    assert direct.status_code == 401  # the wallet itself wants a token: the proxy added the session's
