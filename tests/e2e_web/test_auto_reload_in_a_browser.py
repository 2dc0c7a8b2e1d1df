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
from tests.e2e_web.browser import ARTIFACTS, browser_stack, renting_a_phone
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
    customer = bearer(platform, stack, role="customer", account_id=account_id)
    await renting_a_phone(stack, platform, account_id, amount="60", product=PRODUCT)
    async with httpx.AsyncClient(timeout=20) as http:

        async def save_switched_off() -> httpx.Response:
            return await http.put(
                f"{stack.service_urls['wallet']}/v1/accounts/{account_id}/auto-reload",
                json={"threshold_days": 14, "amount": "10", "monthly_cap": "30", "enabled": False},
                headers=customer,
            )

        # The wallet learns the contract is active from its RentalChanged: 409 until then.
        saved = await eventually(save_switched_off, until=lambda r: r.status_code != 409, within=30, every=0.2)
        assert saved.status_code == 200, saved.text


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
