"""The BFF against the real development provider and the real wallet, over real HTTP on free ports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.harness import TestPlatform
from tests.integration.web_bff.web_stack import WebStack, open_account, running_web_stack, sign_in


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebStack]:
    dist: Path = tmp_path_factory.mktemp("spa-dist")
    (dist / "index.html").write_text("<!doctype html><title>Rental SPA</title>")
    (dist / "assets").mkdir()
    (dist / "assets" / "app-1234.js").write_text("console.log('spa')")
    async with running_web_stack(platform, services=("wallet",), spa_dist=dist) as web:
        yield web


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    # A cookie jar and no automatic redirects: the tests follow each hop the way a browser would.
    async with httpx.AsyncClient(follow_redirects=False, timeout=20) as client:
        yield client


async def test_a_customer_signs_in_with_pkce_and_gets_an_httponly_same_site_session_cookie(
    stack: WebStack, platform: TestPlatform, browser: httpx.AsyncClient
) -> None:
    account = await open_account(stack, platform, "Cookie GmbH")
    start = await browser.get(f"{stack.bff_url}/auth/login", params={"return_to": "/rental"})
    authorize_url = httpx.URL(start.headers["location"])
    assert str(authorize_url).startswith(f"{stack.issuer}/authorize")
    assert authorize_url.params["code_challenge_method"] == "S256"
    assert len(authorize_url.params["code_challenge"]) >= 43
    assert authorize_url.params["response_type"] == "code"
    browser.cookies.clear()

    callback = await sign_in(browser, stack, user="customer", account_id=account)

    assert callback.status_code == 302
    assert callback.headers["location"] == "/rental"
    set_cookie = callback.headers["set-cookie"].lower()
    assert set_cookie.startswith("rental_session=")
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    me = await browser.get(f"{stack.bff_url}/auth/me")
    assert me.status_code == 200
    assert me.json()["roles"] == ["customer"]
    assert me.json()["account_id"] == str(account)


async def test_the_browser_never_holds_a_token(
    stack: WebStack, platform: TestPlatform, browser: httpx.AsyncClient
) -> None:
    account = await open_account(stack, platform, "Opaque AG")
    await sign_in(browser, stack, user="customer", account_id=account)
    cookie = browser.cookies["rental_session"]
    assert cookie.count(".") < 2, "the cookie must be an opaque id, not a JWT"
    me = (await browser.get(f"{stack.bff_url}/auth/me")).text
    assert "access_token" not in me
    assert "eyJ" not in me  # no JWT anywhere in what the browser can read


async def test_the_proxy_calls_the_service_with_the_users_token(
    stack: WebStack, platform: TestPlatform, browser: httpx.AsyncClient
) -> None:
    account = await open_account(stack, platform, "Proxy KG")
    await sign_in(browser, stack, user="customer", account_id=account)

    response = await browser.get(f"{stack.bff_url}/api/wallet/v1/accounts/{account}")

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Proxy KG"
    assert response.headers["cache-control"] == "no-store"


async def test_a_customer_cannot_read_another_accounts_data_through_the_proxy(
    stack: WebStack, platform: TestPlatform, browser: httpx.AsyncClient
) -> None:
    own = await open_account(stack, platform, "Mine Ltd")
    other = await open_account(stack, platform, "Theirs Ltd")
    await sign_in(browser, stack, user="customer", account_id=own)

    response = await browser.get(f"{stack.bff_url}/api/wallet/v1/accounts/{other}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "Theirs" not in response.text


async def test_a_partner_opens_an_account_through_the_proxy(stack: WebStack, browser: httpx.AsyncClient) -> None:
    await sign_in(browser, stack, user="partner")

    created = await browser.post(
        f"{stack.bff_url}/api/wallet/v1/accounts",
        json={"name": "Through The Proxy SA"},
        headers={"Origin": stack.bff_url},
    )

    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    read = await browser.get(f"{stack.bff_url}/api/wallet/v1/accounts/{account_id}")
    assert read.json()["name"] == "Through The Proxy SA"


async def test_a_write_from_a_foreign_origin_is_refused(stack: WebStack, browser: httpx.AsyncClient) -> None:
    await sign_in(browser, stack, user="partner")

    response = await browser.post(
        f"{stack.bff_url}/api/wallet/v1/accounts", json={"name": "Evil"}, headers={"Origin": "http://evil.example"}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "foreign_origin"


async def test_without_a_session_the_proxy_answers_401_problem_json(
    stack: WebStack, browser: httpx.AsyncClient
) -> None:
    response = await browser.get(f"{stack.bff_url}/api/wallet/v1/accounts/{uuid.uuid4()}")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_signed_in"


async def test_an_unknown_service_name_is_not_proxied(stack: WebStack, browser: httpx.AsyncClient) -> None:
    await sign_in(browser, stack, user="operator")
    response = await browser.get(f"{stack.bff_url}/api/elsewhere/v1/anything")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_service"


async def test_only_an_operator_reads_the_mail_sink_and_an_installation_without_one_says_so(
    stack: WebStack, platform: TestPlatform, browser: httpx.AsyncClient
) -> None:
    # This stack's BFF has no `mail_sink_url`: mail goes to a real server there (the browser test has a sink).
    assert (await browser.get(f"{stack.bff_url}/api/mail/messages")).json()["code"] == "not_signed_in"
    await sign_in(browser, stack, user="customer", account_id=await open_account(stack, platform, "Mail GmbH"))
    as_customer = await browser.get(f"{stack.bff_url}/api/mail/messages")
    browser.cookies.clear()
    await sign_in(browser, stack, user="operator")
    as_operator = await browser.get(f"{stack.bff_url}/api/mail/messages")

    assert as_customer.status_code == 403
    assert as_customer.json()["code"] == "forbidden"
    assert as_operator.status_code == 404
    assert as_operator.headers["content-type"] == "application/problem+json"
    assert as_operator.json()["code"] == "mail_sink_not_configured"


async def test_signing_out_ends_the_session(stack: WebStack, browser: httpx.AsyncClient) -> None:
    await sign_in(browser, stack, user="operator")
    assert (await browser.get(f"{stack.bff_url}/auth/me")).status_code == 200
    old_cookie = browser.cookies["rental_session"]

    assert (await browser.post(f"{stack.bff_url}/auth/logout")).status_code == 204

    assert (await browser.get(f"{stack.bff_url}/auth/me")).status_code == 401
    # Even a copy of the old cookie is worth nothing now: the session is gone on the server.
    async with httpx.AsyncClient(cookies={"rental_session": old_cookie}) as thief:
        replay = await thief.get(f"{stack.bff_url}/auth/me")
    assert replay.status_code == 401


async def test_a_callback_that_does_not_match_the_started_login_signs_nobody_in(
    stack: WebStack, browser: httpx.AsyncClient
) -> None:
    start = await browser.get(f"{stack.bff_url}/auth/login")
    assert start.status_code == 302
    forged = await browser.get(f"{stack.bff_url}/auth/callback", params={"code": "made-up", "state": "wrong"})
    assert forged.status_code == 302
    assert "login_error" in forged.headers["location"]
    assert (await browser.get(f"{stack.bff_url}/auth/me")).status_code == 401


async def test_the_login_page_never_redirects_to_another_site(stack: WebStack, browser: httpx.AsyncClient) -> None:
    start = await browser.get(f"{stack.bff_url}/auth/login", params={"return_to": "//evil.example/phish"})
    callback = await sign_in(browser, stack, user="operator")
    assert start.status_code == 302
    assert callback.headers["location"] == "/rental"  # sign_in asks for /rental; the foreign one was dropped


async def test_the_bff_serves_the_spa_for_client_side_routes(stack: WebStack, browser: httpx.AsyncClient) -> None:
    page = await browser.get(f"{stack.bff_url}/rental/history")
    asset = await browser.get(f"{stack.bff_url}/assets/app-1234.js")
    escape = await browser.get(f"{stack.bff_url}/assets/..%2F..%2F..%2Fetc%2Fpasswd")

    assert page.status_code == 200
    assert "Rental SPA" in page.text
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert "root:" not in escape.text
