"""The seed's whole story across the four running services and a simulated gateway, in real time.

Tariff 1 iSC per second; a contract accepted and approved; a domain linked; a gateway registered and
connected; a phone enrolled by code; a key of 5 iSC redeemed; the phone activated: within a second the
gateway holds a bundle with that phone and an expiry about 5 s ahead; at expiry the gateway reboots and
the phone stops, the balance reads 0 and the contract is suspended; a new key brings a new bundle with a
higher seq and the phone runs again; an RMA swaps the phone in the next bundle; a deactivation removes
it; the history tells all of it.

By default the services run in this process against the test platform (tests/harness.py). With
`RENTAL_E2E_URLS` (JSON: the base URLs of `wallet`, `contracts`, `provisioning` and `licensing`) and
`RENTAL_E2E_DEV_DIR` (the development issuer's key directory those services trust), the same story runs
against services already running elsewhere, e.g. in containers (`make test-containers`).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from gateway_simulator.fleet import Fleet, register_gateways
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import AcceptedBundle
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.dev_issuer import issue_token, load_or_create_key
from tests.harness import TestPlatform, eventually, running_services
from tests.integration.license_distributor.conftest import serving_distributor
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

PHONE_PRODUCT = "PHONE-E2E"
pytestmark = pytest.mark.slow


class Issuer(Protocol):
    def token(self, role: str, *, account_id: uuid.UUID | str | None = None) -> str: ...

    def auth(self, role: str, *, account_id: uuid.UUID | str | None = None) -> dict[str, str]: ...


@dataclass(frozen=True)
class DevIssuer:
    """Tokens signed with the development issuer's key in `dev_dir`, which the running services trust."""

    dev_dir: Path

    def token(self, role: str, *, account_id: uuid.UUID | str | None = None) -> str:
        key = load_or_create_key(self.dev_dir)
        # One partner for the story: partners are scoped to the accounts they open.
        subject = "dev-partner" if role == "partner" else None
        return issue_token(key, roles=[role], account_id=str(account_id) if account_id else None, subject=subject)

    def auth(self, role: str, *, account_id: uuid.UUID | str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, account_id=account_id)}"}


def external_services() -> tuple[dict[str, str], Path] | None:
    """The running services' base URLs and the issuer key directory, when the story runs against them."""
    urls = os.environ.get("RENTAL_E2E_URLS")
    if not urls:
        return None
    parsed: dict[str, str] = json.loads(urls)
    missing = {"wallet", "contracts", "provisioning", "licensing"} - parsed.keys()
    assert not missing, f"RENTAL_E2E_URLS lacks {sorted(missing)}"
    dev_dir = os.environ.get("RENTAL_E2E_DEV_DIR")
    assert dev_dir, "RENTAL_E2E_DEV_DIR must name the issuer key directory the services trust"
    return parsed, Path(dev_dir)


class Platform:
    """The four services: wallet, contracts and provisioning in-process, the distributor on a real port; or all
    four running elsewhere, reached at their URLs."""

    def __init__(self, platform: Issuer, clients: dict[str, httpx.AsyncClient], distributor_url: str) -> None:
        self.platform = platform
        self.wallet = clients["wallet"]
        self.contracts = clients["contracts"]
        self.provisioning = clients["provisioning"]
        self.distributor_url = distributor_url

    def auth(self, role: str, account_id: str | None = None) -> dict[str, str]:
        return self.platform.auth(role, account_id=account_id)

    async def until_known(self, *, also_retry: tuple[str, ...] = (), **request: object) -> httpx.Response:
        """Retry while another service's event has not arrived yet (409 not_yet_known), as a client may.

        `also_retry` names other 409 codes that only mean "not arrived yet" at that step of the story.
        """
        retry_codes = ("not_yet_known", *also_retry)

        async def attempt() -> httpx.Response:
            client: httpx.AsyncClient = request["client"]  # type: ignore[assignment]
            return await client.request(
                str(request["method"]),
                str(request["url"]),
                json=request.get("json"),
                headers=request.get("headers"),  # type: ignore[arg-type]
            )

        response = await eventually(
            attempt, until=lambda r: not (r.status_code == 409 and r.json().get("code") in retry_codes), within=15
        )
        assert response.status_code in (200, 201), response.text
        return response

    async def key(self, amount: str) -> str:
        issued = await self.wallet.post(
            "/v1/activation-keys",
            json={"amount": amount, "count": 1},
            headers={**self.auth("partner"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert issued.status_code == 201, issued.text
        return str(issued.json()["keys"][0]["code"])

    async def redeem(self, account_id: str, code: str) -> httpx.Response:
        redeemed = await self.wallet.post(
            f"/v1/accounts/{account_id}/redemptions",
            json={"code": code},
            headers={**self.auth("customer", account_id), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert redeemed.status_code in (200, 201), redeemed.text
        return redeemed

    async def enrol(self, *, account_id: str, domain_id: str, hwid: str) -> str:
        code = await self.provisioning.post(
            f"/v1/domains/{domain_id}/provisioning-codes", json={}, headers=self.auth("customer", account_id)
        )
        assert code.status_code == 201, code.text
        device = await self.provisioning.post(
            "/v1/provisioning",
            json={"code": code.json()["code"], "hwid": hwid, "product": PHONE_PRODUCT, "type": "PHONE"},
        )
        assert device.status_code == 201, device.text
        return str(device.json()["id"])

    async def approved_contract(self, account_id: str) -> tuple[str, str]:
        """A domain of the account linked to a new contract the customer accepted and an operator approved: (domain,
        contract). What a story starts from, the partner acting for the account."""
        partner, customer = self.auth("partner"), self.auth("customer", account_id)
        domain = await self.until_known(
            client=self.provisioning,
            method="POST",
            url="/v1/domains",
            json={"account_id": account_id, "name": f"{uuid.uuid4().hex[:8]}.example"},
            headers=partner,
        )
        domain_id = str(domain.json()["id"])
        contract = await self.until_known(
            client=self.contracts, method="POST", url="/v1/contracts", json={"account_id": account_id}, headers=partner
        )
        contract_id = str(contract.json()["id"])
        await self.until_known(
            client=self.contracts,
            method="POST",
            url=f"/v1/contracts/{contract_id}/domains",
            json={"domain_id": domain_id},
            headers=customer,
        )
        accepted = await self.contracts.post(f"/v1/contracts/{contract_id}/acceptance", headers=customer)
        assert accepted.status_code == 200, accepted.text
        approved = await self.contracts.post(f"/v1/contracts/{contract_id}/approval", headers=self.auth("operator"))
        assert approved.status_code == 200, approved.text
        return domain_id, contract_id

    async def rentable(self, *, contract_id: str, account_id: str, device_id: str) -> None:
        async def hardware() -> list[dict[str, object]]:
            response = await self.contracts.get(
                f"/v1/contracts/{contract_id}/hardware", headers=self.auth("customer", account_id)
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, object]] = response.json()["items"]
            return items

        await eventually(
            hardware, until=lambda items: any(i["device_id"] == device_id and i["rentable"] for i in items), within=15
        )


@pytest.fixture(scope="module")
def in_process(request: pytest.FixtureRequest) -> TestPlatform | None:
    """The test platform the services run on in this process; None (and no platform) against running services."""
    if external_services() is not None:
        return None
    platform: TestPlatform = request.getfixturevalue("platform")
    return platform


@pytest.fixture(scope="module")
async def running(in_process: TestPlatform | None) -> AsyncIterator[Platform]:
    external = external_services()
    async with AsyncExitStack() as stack:
        if in_process is None:
            assert external is not None
            urls, dev_dir = external
            clients = {
                name: await stack.enter_async_context(httpx.AsyncClient(base_url=urls[name], timeout=10))
                for name in ("wallet", "contracts", "provisioning")
            }
            yield Platform(DevIssuer(dev_dir), clients, urls["licensing"].rstrip("/"))
            return
        platform = in_process
        clients = await stack.enter_async_context(
            running_services(
                platform,
                {
                    "wallet": (WALLET, WalletSettings),
                    "contracts": (CONTRACTS, ContractsSettings),
                    "provisioning": (PROVISIONING, ProvisioningSettings),
                },
            )
        )
        distributor = await stack.enter_async_context(serving_distributor(platform))
        yield Platform(platform, clients, distributor.url)


def held(gateway: SimulatedGateway) -> AcceptedBundle | None:
    return gateway.current


async def _now(gateway: SimulatedGateway) -> SimulatedGateway:
    return gateway


async def test_the_seeds_whole_story_in_real_time(running: Platform) -> None:
    p = running
    operator, partner = p.auth("operator"), p.auth("partner")

    # Tariff: 1 iSC per second (86,400 per day), one PORT licence with each phone.
    tariff = await p.contracts.put(
        f"/v1/tariffs/{PHONE_PRODUCT}",
        json={"rate_per_day": "86400", "licences": [{"type": "PORT", "count": 1}]},
        headers=operator,
    )
    assert tariff.status_code in (200, 201), tariff.text

    account = await p.wallet.post("/v1/accounts", json={"name": "Story Ltd"}, headers=partner)
    assert account.status_code == 201, account.text
    account_id = str(account.json()["id"])
    customer = p.auth("customer", account_id)

    domain = await p.until_known(
        client=p.provisioning,
        method="POST",
        url="/v1/domains",
        json={"account_id": account_id, "name": "story.example"},
        headers=partner,
    )
    domain_id = str(domain.json()["id"])
    contract = await p.until_known(
        client=p.contracts, method="POST", url="/v1/contracts", json={"account_id": account_id}, headers=partner
    )
    contract_id = str(contract.json()["id"])
    await p.until_known(
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/domains",
        json={"domain_id": domain_id},
        headers=customer,
    )
    accepted = await p.contracts.post(f"/v1/contracts/{contract_id}/acceptance", headers=customer)
    assert accepted.status_code == 200, accepted.text
    approved = await p.contracts.post(f"/v1/contracts/{contract_id}/approval", headers=operator)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"

    # A gateway with two phones (the second one is the RMA replacement), registered through provisioning.
    state = GatewayState.generate(phones=2, phone_product=PHONE_PRODUCT)
    phone, spare = state.phones[0].hwid, state.phones[1].hwid
    registered = await register_gateways(
        [state], provisioning_url="", domain_id=domain_id, token=p.platform.token("partner"), client=p.provisioning
    )
    assert registered == [state.hwid]
    async with httpx.AsyncClient(timeout=10) as http:
        fleet = Fleet(
            states=[state],
            store=MemoryStore(),
            distributor_url=p.distributor_url,
            client=http,
            backoff_base_s=0.1,
            backoff_cap_s=0.5,
        )
        gateway = fleet.gateways[0]
        fleet.start()
        try:
            await _story(p, gateway, account_id=account_id, domain_id=domain_id, contract_id=contract_id)
            report = fleet.report()[0]
            assert report.phones_running == []
            assert set(report.phones_stopped) == {phone, spare}
        finally:
            await fleet.stop()


async def _story(p: Platform, gateway: SimulatedGateway, *, account_id: str, domain_id: str, contract_id: str) -> None:
    # Connected, holding its first bundle (nothing rented yet).
    await eventually(lambda: _now(gateway), until=lambda g: g.connected and g.current is not None, within=15)
    assert gateway.phones_running() == []
    rental_id, first_seq = await _rent_and_run(
        p, gateway, account_id=account_id, domain_id=domain_id, contract_id=contract_id
    )
    await _run_out_and_top_up(p, gateway, account_id=account_id, contract_id=contract_id, first_seq=first_seq)
    await _replace_and_deactivate(
        p, gateway, account_id=account_id, domain_id=domain_id, contract_id=contract_id, rental_id=rental_id
    )
    await _the_distributor_and_the_history_agree(
        p, gateway, account_id=account_id, domain_id=domain_id, contract_id=contract_id
    )


async def _rent_and_run(
    p: Platform, gateway: SimulatedGateway, *, account_id: str, domain_id: str, contract_id: str
) -> tuple[str, int]:
    """5 iSC, one phone rented: within a second it runs, on a bundle expiring about 5 s ahead. The rental's id
    and the bundle's seq."""
    customer = p.auth("customer", account_id)
    phone = gateway.state.phones[0].hwid
    device_id = await p.enrol(account_id=account_id, domain_id=domain_id, hwid=phone)
    redeemed = await p.redeem(account_id, await p.key("5"))
    assert Decimal(redeemed.json()["balance"]) == Decimal(5)
    await p.rentable(contract_id=contract_id, account_id=account_id, device_id=device_id)
    # The wallet's news of the redemption reaches contracts by event: until then it answers no_credit.
    rental = await p.until_known(
        also_retry=("no_credit",),
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/rentals",
        json={"device_id": device_id},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    activated_at = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    started = loop.time()
    rental_id = str(rental.json()["id"])

    # Within a second: a bundle with that phone, expiring about 5 s ahead.
    running = await eventually(
        lambda: _now(gateway), until=lambda g: g.phones_running() == [phone], within=5, every=0.02
    )
    assert loop.time() - started < 1.0, f"bundle after {loop.time() - started:.2f}s"
    bundle = running.current
    assert bundle is not None
    assert bundle.expires_at is not None
    assert abs((bundle.expires_at - (activated_at + timedelta(seconds=5))).total_seconds()) < 1.5
    return rental_id, bundle.seq


async def _run_out_and_top_up(
    p: Platform, gateway: SimulatedGateway, *, account_id: str, contract_id: str, first_seq: int
) -> None:
    customer = p.auth("customer", account_id)
    phone = gateway.state.phones[0].hwid
    # At expiry: the gateway reboots and the phone stops; the balance is 0 and the contract suspended.
    await eventually(lambda: _now(gateway), until=lambda g: "rental_expired" in g.stats.reboot_reasons, within=10)
    assert gateway.phones_running() == []

    async def account() -> dict[str, object]:
        response = await p.wallet.get(f"/v1/accounts/{account_id}", headers=customer)
        body: dict[str, object] = response.json()
        return body

    # `exp` is whole seconds rounded down, so the gateway may stop up to a second before the wallet's zero.
    depleted = await eventually(account, until=lambda a: a["status"] == "depleted", within=3)
    assert Decimal(str(depleted["balance"])) == 0

    async def contract_status() -> str:
        response = await p.contracts.get(f"/v1/contracts/{contract_id}", headers=customer)
        return str(response.json()["status"])

    await eventually(contract_status, until=lambda s: s == "suspended", within=10)

    # A new key: a new bundle with a higher seq, the phone runs again.
    await p.redeem(account_id, await p.key("60"))
    await eventually(lambda: _now(gateway), until=lambda g: g.phones_running() == [phone], within=10)
    assert gateway.current is not None
    assert gateway.current.seq > first_seq
    await eventually(contract_status, until=lambda s: s == "active", within=10)


async def _replace_and_deactivate(
    p: Platform, gateway: SimulatedGateway, *, account_id: str, domain_id: str, contract_id: str, rental_id: str
) -> None:
    customer = p.auth("customer", account_id)
    spare = gateway.state.phones[1].hwid
    # RMA: the spare replaces the phone in the next bundle.
    spare_id = await p.enrol(account_id=account_id, domain_id=domain_id, hwid=spare)
    await p.rentable(contract_id=contract_id, account_id=account_id, device_id=spare_id)
    replaced = await p.contracts.post(
        f"/v1/contracts/{contract_id}/rentals/{rental_id}/replacement",
        json={"device_id": spare_id},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert replaced.status_code == 201, replaced.text
    await eventually(lambda: _now(gateway), until=lambda g: g.phones_running() == [spare], within=10)
    new_rental_id = str(replaced.json()["id"])

    # Deactivation: nothing of it runs any more.
    ended = await p.contracts.post(
        f"/v1/contracts/{contract_id}/rentals/{new_rental_id}/deactivation",
        json={},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert ended.status_code in (200, 201), ended.text
    await eventually(
        lambda: _now(gateway),
        until=lambda g: g.current is not None and g.current.devices == () and g.current.expires_at is None,
        within=10,
    )
    assert gateway.stats.rejected == []


async def _the_distributor_and_the_history_agree(
    p: Platform, gateway: SimulatedGateway, *, account_id: str, domain_id: str, contract_id: str
) -> None:
    customer = p.auth("customer", account_id)
    # The distributor's view agrees: online, everything acknowledged, nothing rented. (Acks are written in
    # batches, every 50 ms: the last one may still be on its way when the gateway already holds the bundle.)
    async with httpx.AsyncClient(timeout=10) as http:

        async def licences() -> httpx.Response:
            return await http.get(f"{p.distributor_url}/v1/domains/{domain_id}/licences", headers=customer)

        view = await eventually(
            licences,
            until=lambda r: (
                r.status_code != 200 or r.json()["gateways"][0]["acknowledged_seq"] == gateway.state.highest_seq
            ),
            within=5,
        )
    assert view.status_code == 200, view.text
    assert view.json()["bundle"]["devices"] == []
    (gw,) = view.json()["gateways"]
    assert gw["online"] is True
    assert gw["acknowledged_seq"] == gateway.state.highest_seq

    # The history tells all of it.
    history = await p.contracts.get(f"/v1/contracts/{contract_id}/history?limit=100", headers=customer)
    assert history.status_code == 200, history.text
    types = {entry["type"] for entry in history.json()["items"]}
    told = {
        "ContractActivated",
        "CreditsLoaded",
        "DeviceActivated",
        "BalanceDepleted",
        "ContractSuspended",
        "ContractResumed",
        "DeviceReplaced",
        "DeviceDeactivated",
    }
    assert told <= types, f"missing from the history: {told - types}"
