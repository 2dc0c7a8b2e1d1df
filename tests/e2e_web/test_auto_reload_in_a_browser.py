"""Auto-iSC's card in a real browser (Debian's Chromium) against the real platform (`browser.py`).

The account is made ready through the services' APIs (a key loaded, a contract accepted and approved, a phone
rented, Auto-iSC saved switched off once the wallet knows the contract is active); the customer then turns it on in
the web app and sees its state and the next reload expected. Screenshot: artifacts/web/customer-auto-reload-on.png.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e_web import browser
from tests.e2e_web.browser import ARTIFACTS, browser_stack
from tests.harness import TestPlatform, eventually
from tests.integration.web_bff.web_stack import WebStack, bearer, open_account

STORY = Path(__file__).with_name("auto_reload_story.mjs")
PRODUCT = "PHONE-AUTO-ISC"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform) -> AsyncIterator[WebStack]:
    async with browser_stack(platform, stale_failures="FAILED-customer_turns_on_auto_reload-*.png") as web:
        yield web


async def ready_for_auto_reload(stack: WebStack, platform: TestPlatform, account_id: uuid.UUID) -> None:
    """60 iSC loaded by hand and an active contract: both preconditions of Auto-iSC hold."""
    partner, operator = bearer(platform, stack, role="partner"), bearer(platform, stack, role="operator")
    customer = bearer(platform, stack, role="customer", account_id=account_id)
    urls = stack.service_urls
    async with httpx.AsyncClient(timeout=20) as http:
        batch = await http.post(
            f"{urls['wallet']}/v1/activation-keys",
            json={"amount": "60", "count": 1},
            headers={**partner, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert batch.status_code == 201, batch.text
        redeemed = await http.post(
            f"{urls['wallet']}/v1/accounts/{account_id}/redemptions",
            json={"code": batch.json()["keys"][0]["code"]},
            headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert redeemed.status_code == 201, redeemed.text

        async def open_contract() -> httpx.Response:
            return await http.post(
                f"{urls['contracts']}/v1/contracts", json={"account_id": str(account_id)}, headers=partner
            )

        opened = await eventually(open_contract, until=lambda r: r.status_code != 409, within=30, every=0.2)
        assert opened.status_code == 201, opened.text
        contract_id = opened.json()["id"]
        accepted = await http.post(f"{urls['contracts']}/v1/contracts/{contract_id}/acceptance", headers=customer)
        assert accepted.status_code == 200, accepted.text
        approved = await http.post(f"{urls['contracts']}/v1/contracts/{contract_id}/approval", headers=operator)
        assert approved.status_code == 200, approved.text
        await rent_a_phone(
            http, stack, account_id=account_id, contract_id=contract_id, partner=partner, operator=operator
        )

        async def save_switched_off() -> httpx.Response:
            return await http.put(
                f"{urls['wallet']}/v1/accounts/{account_id}/auto-reload",
                json={"threshold_days": 14, "amount": "10", "monthly_cap": "30", "enabled": False},
                headers=customer,
            )

        # The wallet learns the contract is active from its RentalChanged: 409 until then.
        saved = await eventually(save_switched_off, until=lambda r: r.status_code != 409, within=30, every=0.2)
        assert saved.status_code == 200, saved.text


async def rent_a_phone(
    http: httpx.AsyncClient,
    stack: WebStack,
    *,
    account_id: uuid.UUID,
    contract_id: str,
    partner: dict[str, str],
    operator: dict[str, str],
) -> None:
    """A phone enrolled in a linked domain and rented at 1 iSC a day: the balance burns, so a reload is ahead."""
    urls = stack.service_urls
    tariff = await http.put(
        f"{urls['contracts']}/v1/tariffs/{PRODUCT}",
        json={"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]},
        headers=operator,
    )
    assert tariff.status_code == 200, tariff.text

    async def created(service: str, path: str, body: dict[str, str]) -> dict[str, str]:
        async def attempt() -> httpx.Response:
            return await http.post(f"{urls[service]}/v1{path}", json=body, headers=partner)

        response = await eventually(attempt, until=lambda r: r.status_code != 409, within=30, every=0.2)
        assert response.status_code == 201, response.text
        answer: dict[str, str] = response.json()
        return answer

    domain = await created(
        "provisioning", "/domains", {"account_id": str(account_id), "name": f"pbx-{account_id.hex[:6]}"}
    )
    await created("contracts", f"/contracts/{contract_id}/domains", {"domain_id": domain["id"]})
    code = await created("provisioning", f"/domains/{domain['id']}/provisioning-codes", {})
    enrolled = await http.post(
        f"{urls['provisioning']}/v1/provisioning",
        json={"code": code["code"], "hwid": uuid.uuid4().hex[:12], "product": PRODUCT, "type": "PHONE"},
    )
    assert enrolled.status_code == 201, enrolled.text

    async def rent() -> httpx.Response:
        return await http.post(
            f"{urls['contracts']}/v1/contracts/{contract_id}/rentals",
            json={"device_id": enrolled.json()["id"]},
            headers={**partner, "Idempotency-Key": key},
        )

    key = uuid.uuid4().hex
    # The device and the credit reach contracts by event: 409 (not_yet_known, no_credit) until they have.
    rented = await eventually(rent, until=lambda r: r.status_code != 409, within=30, every=0.2)
    assert rented.status_code == 201, rented.text


async def test_a_customer_reads_auto_reload_in_plain_words_turns_it_on_and_sees_the_next_reload(
    stack: WebStack, platform: TestPlatform
) -> None:
    account_id = await open_account(stack, platform, f"Auto {uuid.uuid4().hex[:6]} GmbH")
    await ready_for_auto_reload(stack, platform, account_id)

    output = await browser.play(
        stack, STORY, "customer_turns_on_auto_reload", within=240, OWN_ACCOUNT_ID=str(account_id)
    )

    assert "STEP ok the Auto-iSC card explains itself in plain words" in output
    assert "STEP ok the customer turns it on and sees the next reload expected" in output
    assert (ARTIFACTS / "customer-auto-reload-on.png").is_file()
