"""The web app in a real browser (Debian's Chromium, driven by playwright-core) against the real platform.

The four services, the development OpenID provider and the BFF serving the built SPA run as real HTTP
servers on free ports; `browser_story.mjs` plays one scenario per test and saves screenshots of every main
screen under artifacts/web/.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState
from scripts.smtp_sink import SmtpSink, serving_messages, serving_smtp_sink
from tests.e2e_web import browser
from tests.e2e_web.browser import ARTIFACTS, browser_stack, renting_a_phone
from tests.harness import TestPlatform, eventually, free_port, running_gateway
from tests.integration.wallet.outbound_rig import serving_receiver, verify_standard_webhook
from tests.integration.web_bff.web_stack import WebStack, bearer, open_account

STORY = Path(__file__).with_name("browser_story.mjs")

pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class MailSink:
    """The project's SMTP sink (the one `make run` starts): the wallet mails to it, the BFF reads it for the
    operator screen, and the test reads it directly."""

    received: SmtpSink
    smtp_port: int
    url: str


@pytest.fixture(scope="module")
async def mail_sink() -> AsyncIterator[MailSink]:
    smtp_port = free_port()
    async with (
        serving_smtp_sink("127.0.0.1", smtp_port) as received,
        serving_messages(received, "127.0.0.1", free_port()) as url,
    ):
        yield MailSink(received=received, smtp_port=smtp_port, url=url)


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform, mail_sink: MailSink) -> AsyncIterator[WebStack]:
    # The test's webhook receiver listens on 127.0.0.1, which a wallet refuses as a target unless told.
    overrides = {"wallet": {"webhook_allow_private_targets": True, "smtp_port": mail_sink.smtp_port}}
    async with browser_stack(
        platform, stale_failures="FAILED-*.png", overrides=overrides, bff_overrides={"mail_sink_url": mail_sink.url}
    ) as web:
        yield web


async def open_named_account(stack: WebStack, platform: TestPlatform, name: str) -> Account:
    return Account(id=await open_account(stack, platform, name), name=name)


async def open_contract(stack: WebStack, platform: TestPlatform, account: Account) -> str:
    async def attempt() -> httpx.Response:
        async with httpx.AsyncClient(timeout=20) as client:
            return await client.post(
                f"{stack.service_urls['contracts']}/v1/contracts",
                json={"account_id": str(account.id)},
                headers=bearer(platform, stack, role="partner"),
            )

    # The contracts service learns of the account from the wallet's event: 409 not_yet_known until then.
    response = await eventually(attempt, until=lambda r: r.status_code != 409, within=30, every=0.2)
    assert response.status_code == 201, response.text
    contract_id: str = response.json()["id"]
    return contract_id


async def play(stack: WebStack, scenario: str, **extra: str) -> str:
    """Run one scenario of the story in Chromium; its output, after asserting it passed."""
    return await browser.play(stack, STORY, scenario, within=240, **extra)


async def test_a_partner_signs_in_opens_an_account_and_issues_keys_shown_once(stack: WebStack) -> None:
    output = await play(stack, "partner_issues_keys")

    assert "STEP ok partner opens a customer account" in output
    assert "STEP ok partner issues a key batch whose codes are shown once" in output
    assert (ARTIFACTS / "partner-keys-issued.png").is_file()


async def test_a_customer_signs_in_and_sees_their_own_account_at_phone_width(
    stack: WebStack, platform: TestPlatform
) -> None:
    own = await open_named_account(stack, platform, f"Phone Width {uuid.uuid4().hex[:6]} AG")

    output = await play(stack, "customer_sees_own_account", OWN_ACCOUNT_ID=str(own.id), OWN_ACCOUNT_NAME=own.name)

    assert "STEP ok a wrong activation key is explained in words, not JSON" in output
    assert "STEP ok the page fits a phone's width" in output
    assert "STEP ok the session cookie cannot be read by scripts" in output
    assert (ARTIFACTS / "customer-rental-overview-phone.png").is_file()


async def test_a_customer_cannot_reach_another_accounts_screens_or_data(
    stack: WebStack, platform: TestPlatform
) -> None:
    own = await open_named_account(stack, platform, f"Own {uuid.uuid4().hex[:6]} Ltd")
    other = await open_named_account(stack, platform, f"Other {uuid.uuid4().hex[:6]} Ltd")
    other_contract = await open_contract(stack, platform, other)

    output = await play(
        stack,
        "customer_cannot_reach_another_account",
        OWN_ACCOUNT_ID=str(own.id),
        OWN_ACCOUNT_NAME=own.name,
        OTHER_ACCOUNT_ID=str(other.id),
        OTHER_ACCOUNT_NAME=other.name,
        OTHER_CONTRACT_ID=other_contract,
    )

    assert "STEP ok another account's data answers 404 through the app's own API" in output
    assert "STEP ok another account's contract is not found, and not listed" in output


@contextlib.asynccontextmanager
async def connected_gateway(stack: WebStack, state: GatewayState) -> AsyncIterator[SimulatedGateway]:
    """The project's gateway simulator holding its session with the distributor, as hardware would."""
    async with (
        httpx.AsyncClient(timeout=10) as client,
        running_gateway(
            state, distributor_url=stack.service_urls["licensing"], client=client, backoff_base_s=0.2, backoff_cap_s=1.0
        ) as gateway,
    ):
        yield gateway


async def test_a_customer_loads_a_key_rents_a_phone_replaces_and_deactivates_it_and_reads_the_history(
    stack: WebStack, platform: TestPlatform
) -> None:
    partner = bearer(platform, stack, role="partner")
    own = await open_named_account(stack, platform, f"Story {uuid.uuid4().hex[:6]} GmbH")
    state = GatewayState.generate(phones=2, phone_product="PHONE-WEB-1")
    async with httpx.AsyncClient(timeout=20) as http:

        async def create(service: str, path: str, body: dict[str, str]) -> httpx.Response:
            # A service learns of another's object by event: 409 not_yet_known until it has, then 201.
            async def attempt() -> httpx.Response:
                return await http.post(f"{stack.service_urls[service]}/v1{path}", json=body, headers=partner)

            response = await eventually(attempt, until=lambda r: r.status_code != 409, within=30, every=0.2)
            assert response.status_code == 201, response.text
            return response

        domain = await create("provisioning", "/domains", {"account_id": str(own.id), "name": f"pbx-{own.id.hex[:6]}"})
        domain_id = domain.json()["id"]
        state_key = {"hwid": state.hwid, "product": state.product, "public_key": state.public_key}
        await create("provisioning", f"/domains/{domain_id}/gateways", state_key)
        contract = await create("contracts", "/contracts", {"account_id": str(own.id)})
        keys = await http.post(
            f"{stack.service_urls['wallet']}/v1/activation-keys",
            json={"amount": "1000", "count": 1},
            headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert keys.status_code == 201, keys.text
        # A software tariff for the Software tab (issue 16), set by an operator.
        licence_type = f"UC{uuid.uuid4().hex[:6].upper()}"
        tariff = await http.put(
            f"{stack.service_urls['contracts']}/v1/software-tariffs/{licence_type}",
            json={"rate_per_day": "3"},
            headers=bearer(platform, stack, role="operator"),
        )
        assert tariff.status_code == 200, tariff.text

    async with connected_gateway(stack, state) as gateway:
        output = await play(
            stack,
            "customer_story",
            OWN_ACCOUNT_ID=str(own.id),
            OWN_ACCOUNT_NAME=own.name,
            KEY_CODE=keys.json()["keys"][0]["code"],
            DOMAIN_ID=domain_id,
            CONTRACT_ID=contract.json()["id"],
            PROVISIONING_URL=stack.service_urls["provisioning"],
            PHONE1_HWID=state.phones[0].hwid,
            PHONE2_HWID=state.phones[1].hwid,
            PHONE_PRODUCT="PHONE-WEB-1",
            GATEWAY_HWID=state.hwid,
            LICENCE_TYPE=licence_type,
        )
        # The simulated gateway enforced what the browser showed: it accepted the rising bundles.
        assert len(gateway.stats.accepted) >= 3, gateway.stats

    for step in (
        "customer activates a phone and the balance starts to fall",
        "the gateway's seq rises with the new bundle",
        "customer replaces the phone by RMA, with a device picker and a confirmation",
        "customer deactivates the rental, with a confirmation",
        "customer reads the history",
        "the history is written for a customer: sentences, who did it, details behind a toggle",
        "the burn-down chart renders with the ledger's balance and the projection",
        "the forecast panel on the Hardware tab shows the run-out before confirming",
        "customer rents software licences on the Software tab, after its forecast",
        "the statement lists the ledger with its running balance, by month, and exports CSV",
    ):
        assert f"STEP ok {step}" in output
    for screen in (
        "customer-rental-overview-burning",
        "customer-licences",
        "customer-history",
        "operator-tariff-set",
        "customer-history-details",
        "customer-rental-overview-chart",
        "customer-hardware-forecast",
        "customer-software-forecast",
        "customer-software",
        "customer-statement",
    ):
        assert (ARTIFACTS / f"{screen}.png").is_file()


async def test_a_customer_registers_a_webhook_sees_the_delivery_in_the_log_and_sends_it_again(
    stack: WebStack, platform: TestPlatform
) -> None:
    own = await open_named_account(stack, platform, f"Hooked {uuid.uuid4().hex[:6]} GmbH")
    async with httpx.AsyncClient(timeout=20) as http:
        keys = await http.post(
            f"{stack.service_urls['wallet']}/v1/activation-keys",
            json={"amount": "100", "count": 1},
            headers={**bearer(platform, stack, role="partner"), "Idempotency-Key": str(uuid.uuid4())},
        )
    assert keys.status_code == 201, keys.text

    async with serving_receiver() as receiver:
        output = await play(
            stack,
            "customer_notifications",
            OWN_ACCOUNT_ID=str(own.id),
            RECEIVER_URL=f"{receiver.url}/hooked",
            KEY_CODE=keys.json()["keys"][0]["code"],
        )
        for step in (
            "customer registers a webhook endpoint and sees its secret once",
            "the delivery shows in the log, delivered",
            "customer sends it again and sees the second attempt",
        ):
            assert f"STEP ok {step}" in output
        # The receiver got the redemption twice, under one webhook-id, signed with the secret the page showed.
        [secret] = [line.split(" ", 1)[1] for line in output.splitlines() if line.startswith("SECRET ")]
        loaded = [h for h in receiver.at("hooked") if h.payload["type"] == "credits.loaded"]
        assert len(loaded) == 2
        assert loaded[0].webhook_id == loaded[1].webhook_id
        for hit in loaded:
            assert verify_standard_webhook(secret, hit.headers, hit.body)["data"]["account_id"] == str(own.id)
    for screen in ("endpoint", "delivered", "replayed"):
        assert (ARTIFACTS / f"customer-notifications-{screen}.png").is_file()


async def test_an_operator_reads_the_low_balance_warning_the_wallet_mailed_to_a_customer(
    stack: WebStack, platform: TestPlatform, mail_sink: MailSink
) -> None:
    own = await open_named_account(stack, platform, f"Mailed {uuid.uuid4().hex[:6]} GmbH")
    address = f"billing-{own.id.hex[:8]}@example.com"
    async with httpx.AsyncClient(timeout=20) as http:
        contacts = await http.put(
            f"{stack.service_urls['wallet']}/v1/accounts/{own.id}/contacts",
            json={"emails": [address]},
            headers=bearer(platform, stack, role="customer", account_id=own.id),
        )
    assert contacts.status_code == 200, contacts.text
    # 20 iSC at 1 iSC a day: 20 days left, under the ladder's 3-week warning from the moment the phone is rented.
    await renting_a_phone(stack, platform, own.id, amount="20", product="PHONE-MAILED-1")

    async def mailed() -> list[str]:
        return [m.subject for m in mail_sink.received.to(address)]

    [subject] = await eventually(mailed, within=30, every=0.2, what=f"the warning mailed to {address}")

    output = await play(stack, "operator_reads_outgoing_mail", MAIL_TO=address, MAIL_SUBJECT=subject)

    assert "STEP ok the operator screen lists the mail the wallet sent" in output
    assert "STEP ok the operator opens it and reads its text" in output
    assert (ARTIFACTS / "operator-outgoing-mail.png").is_file()


async def test_a_partner_rehearses_a_week_on_a_test_clock_and_the_customer_sees_simulated_time(
    stack: WebStack, platform: TestPlatform
) -> None:
    name = f"Rehearsal {uuid.uuid4().hex[:6]}"
    output = await play(stack, "partner_creates_a_test_clock_and_an_account_on_it", CLOCK_NAME=name)
    [account_id] = [line.split()[1] for line in output.splitlines() if line.startswith("ACCOUNT ")]
    # 100 iSC and a phone rented at 1 iSC a day, from the clock's start (what the clock then moves on).
    await renting_a_phone(stack, platform, uuid.UUID(account_id), amount="100", product=f"PHONE-CLOCK-{name[-6:]}")

    output = await play(
        stack,
        "a_week_on_the_test_clock_as_partner_and_customer_see_it",
        CLOCK_NAME=name,
        ACCOUNT_ID=account_id,
        BALANCE_AFTER_A_WEEK="93",
    )

    assert "STEP ok the partner advances the clock by a week and follows it until ready" in output
    assert "STEP ok the customer sees the simulated time and a balance that stands still" in output
    for screen in ("partner-test-clocks", "customer-on-a-test-clock"):
        assert (ARTIFACTS / f"{screen}.png").is_file()
