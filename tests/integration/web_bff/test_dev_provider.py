"""The development OpenID provider speaks the protocol: discovery, PKCE-bound single-use codes, signed tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, KeySetSerialization

from tests.harness import TestPlatform
from tests.integration.web_bff.web_stack import WebStack, running_web_stack


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform) -> AsyncIterator[WebStack]:
    async with running_web_stack(platform, services=("wallet",)) as web:
        yield web


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def code_for(client: httpx.AsyncClient, stack: WebStack, *, verifier: str, user: str = "operator") -> str:
    form = {
        "response_type": "code",
        "client_id": "rental-web",
        "redirect_uri": f"{stack.bff_url}/auth/callback",
        "scope": "openid profile",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
        "user": user,
    }
    decision = await client.post(f"{stack.issuer}/authorize", data=form)
    assert decision.status_code == 303, decision.text
    location = httpx.URL(decision.headers["location"])
    assert location.params["state"] == "s1"
    return location.params["code"]


async def exchange(client: httpx.AsyncClient, stack: WebStack, *, code: str, verifier: str) -> httpx.Response:
    return await client.post(
        f"{stack.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{stack.bff_url}/auth/callback",
            "client_id": "rental-web",
            "code_verifier": verifier,
        },
    )


async def test_discovery_names_the_issuer_and_its_endpoints(stack: WebStack) -> None:
    async with httpx.AsyncClient() as client:
        discovery = (await client.get(f"{stack.issuer}/.well-known/openid-configuration")).json()
        jwks = (await client.get(discovery["jwks_uri"])).json()
    assert discovery["issuer"] == stack.issuer
    assert discovery["authorization_endpoint"] == f"{stack.issuer}/authorize"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert jwks["keys"][0]["kty"] == "OKP"
    assert "d" not in jwks["keys"][0], "the JWKS must hold only the public half"


async def test_the_access_token_is_signed_by_the_dev_issuer_and_the_wallet_accepts_it(
    stack: WebStack, platform: TestPlatform
) -> None:
    verifier = secrets.token_urlsafe(48)
    async with httpx.AsyncClient() as client:
        code = await code_for(client, stack, verifier=verifier, user="partner")
        tokens = (await exchange(client, stack, code=code, verifier=verifier)).json()
        created = await client.post(
            f"{stack.service_urls['wallet']}/v1/accounts",
            json={"name": "Signed By Provider"},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    keys = KeySet.import_key_set(json.loads((platform.dev_dir / "jwks.json").read_text()))
    id_claims = jwt.decode(tokens["id_token"], keys, algorithms=["Ed25519"]).claims
    assert id_claims["aud"] == "rental-web"
    assert id_claims["nonce"] == "n1"
    assert id_claims["roles"] == ["partner"]
    assert created.status_code == 201, created.text


async def test_a_code_exchange_with_the_wrong_verifier_is_refused(stack: WebStack) -> None:
    async with httpx.AsyncClient() as client:
        code = await code_for(client, stack, verifier=secrets.token_urlsafe(48))
        response = await exchange(client, stack, code=code, verifier=secrets.token_urlsafe(48))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_works_once(stack: WebStack) -> None:
    verifier = secrets.token_urlsafe(48)
    async with httpx.AsyncClient() as client:
        code = await code_for(client, stack, verifier=verifier)
        first = await exchange(client, stack, code=code, verifier=verifier)
        replay = await exchange(client, stack, code=code, verifier=verifier)
    assert first.status_code == 200
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


async def test_authorize_refuses_an_unregistered_redirect_or_a_request_without_pkce(stack: WebStack) -> None:
    good = {
        "response_type": "code",
        "client_id": "rental-web",
        "redirect_uri": f"{stack.bff_url}/auth/callback",
        "scope": "openid",
        "code_challenge": challenge_of("x" * 50),
        "code_challenge_method": "S256",
    }
    async with httpx.AsyncClient() as client:
        accepted = await client.get(f"{stack.issuer}/authorize", params=good)
        foreign = await client.get(f"{stack.issuer}/authorize", params={**good, "redirect_uri": "http://evil/cb"})
        plain = await client.get(f"{stack.issuer}/authorize", params={**good, "code_challenge_method": "plain"})
    assert accepted.status_code == 200
    assert "Sign in as" in accepted.text
    assert foreign.status_code == 400
    assert plain.status_code == 400
    assert "location" not in foreign.headers


async def test_a_customer_login_carries_the_account_id_in_the_access_token(stack: WebStack) -> None:
    account = uuid.uuid4()
    verifier = secrets.token_urlsafe(48)
    form_user = "customer"
    async with httpx.AsyncClient() as client:
        form = {
            "response_type": "code",
            "client_id": "rental-web",
            "redirect_uri": f"{stack.bff_url}/auth/callback",
            "scope": "openid",
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
            "user": form_user,
            "account_id": str(account),
        }
        decision = await client.post(f"{stack.issuer}/authorize", data=form)
        code = httpx.URL(decision.headers["location"]).params["code"]
        tokens = (await exchange(client, stack, code=code, verifier=verifier)).json()
    claims = jwt.decode(
        tokens["access_token"], KeySet.import_key_set(await _jwks(stack)), algorithms=["Ed25519"]
    ).claims
    assert claims["account_id"] == str(account)
    assert claims["roles"] == ["customer"]
    assert claims["aud"] == "rental-platform"
    assert claims["iss"] == stack.issuer


async def _jwks(stack: WebStack) -> KeySetSerialization:
    async with httpx.AsyncClient() as client:
        data: KeySetSerialization = (await client.get(f"{stack.issuer}/jwks.json")).json()
        return data
