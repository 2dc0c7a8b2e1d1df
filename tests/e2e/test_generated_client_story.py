"""The rental story driven only by the clients `openapi-python-client` generated from the served documents
(`tests/clients/`, `make clients`), as a new integrator would: typed calls, typed answers, typed refusals.

The four services run on real sockets (the clients speak HTTP to them), with a simulated gateway holding its
session to the distributor. A tariff, an account, a domain, a contract accepted and approved; a gateway
registered; a phone enrolled with a code issued without a body; a key batch whose lost answer a retry gets again;
a redemption; the phone rented and running in the gateway's next bundle; deactivated and the contract terminated,
both without a body; the history, the licences and the JWKS read back as the document's models and enums.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from gateway_simulator.fleet import Fleet
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.config import ServiceSettings
from shared.runtime import ServiceSpec
from tests.clients.contracts_client import AuthenticatedClient as ContractsClient
from tests.clients.contracts_client.api.contracts import (
    accept_contract,
    activate_rental,
    approve_contract,
    deactivate_rental,
    get_contract,
    link_domain,
    list_hardware,
    list_history,
    open_contract,
    set_tariff,
    terminate_contract,
)
from tests.clients.contracts_client.models import (
    ContractCreate,
    ContractRead,
    ContractStatus,
    DeviceType,
    DomainLinkCreate,
    HistoryEntryType,
    LicenceSpec,
    PageHardwareItem,
    PageHistoryEntryRead,
    RentalCreate,
    RentalRead,
    RentalStatus,
    TariffRead,
    TariffWrite,
)
from tests.clients.contracts_client.models import Problem as ContractsProblem
from tests.clients.contracts_client.models import ProblemCode as ContractsProblemCode
from tests.clients.licensing_client import AuthenticatedClient as LicensingClient
from tests.clients.licensing_client import Client as LicensingAnonymous
from tests.clients.licensing_client.api.licences import get_domain_licences, get_jwks
from tests.clients.licensing_client.models import DomainLicencesRead, JwksRead
from tests.clients.provisioning_client import AuthenticatedClient as ProvisioningClient
from tests.clients.provisioning_client import Client as ProvisioningAnonymous
from tests.clients.provisioning_client.api.domains import create_domain
from tests.clients.provisioning_client.api.gateways import register_gateway
from tests.clients.provisioning_client.api.provisioning import enrol_device, issue_provisioning_code
from tests.clients.provisioning_client.models import (
    DeviceRead,
    DomainCreate,
    DomainRead,
    Enrolment,
    GatewayCreate,
    GatewayRead,
    ProvisioningCodeIssued,
)
from tests.clients.provisioning_client.models import DeviceType as ProvisioningDeviceType
from tests.clients.provisioning_client.models import Problem as ProvisioningProblem
from tests.clients.provisioning_client.models import ProblemCode as ProvisioningProblemCode
from tests.clients.wallet_client import AuthenticatedClient as WalletClient
from tests.clients.wallet_client.api.accounts import get_account, open_account, redeem_activation_key
from tests.clients.wallet_client.api.activation_keys import issue_key_batch
from tests.clients.wallet_client.models import (
    AccountCreate,
    AccountRead,
    KeyBatchCreate,
    KeyBatchRead,
    RedemptionCreate,
    RedemptionRead,
)
from tests.harness import TestPlatform, eventually, free_port, serving_service
from tests.integration.license_distributor.conftest import serving_distributor
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

PHONE_PRODUCT = "PHONE-CLIENT"
pytestmark = pytest.mark.slow

T = TypeVar("T")


@dataclass(frozen=True)
class Urls:
    wallet: str
    contracts: str
    provisioning: str
    licensing: str


@pytest.fixture(scope="module")
async def urls(platform: TestPlatform) -> AsyncIterator[Urls]:
    services: dict[str, tuple[ServiceSpec[Any], type[ServiceSettings]]] = {
        "wallet": (WALLET, WalletSettings),
        "contracts": (CONTRACTS, ContractsSettings),
        "provisioning": (PROVISIONING, ProvisioningSettings),
    }
    async with AsyncExitStack() as stack:
        served = {
            name: await stack.enter_async_context(
                serving_service(spec, platform.settings(settings_cls, http_port=free_port()))
            )
            for name, (spec, settings_cls) in services.items()
        }
        distributor = await stack.enter_async_context(serving_distributor(platform))
        yield Urls(
            wallet=served["wallet"],
            contracts=served["contracts"],
            provisioning=served["provisioning"],
            licensing=distributor.url,
        )


def key() -> str:
    return uuid.uuid4().hex


def parsed(answer: object, kind: type[T]) -> T:
    assert isinstance(answer, kind), answer
    return answer


async def until_arrived(
    call: Callable[[], Awaitable[object]], kind: type[T], *, also: tuple[str, ...] = ("not_yet_known",)
) -> T:
    """Call again while the answer is a problem saying another service's event has not arrived yet (409)."""

    def arrived(answer: object) -> bool:
        return not (isinstance(answer, ContractsProblem | ProvisioningProblem) and answer.code.value in also)

    return parsed(await eventually(call, until=arrived, within=15), kind)


async def test_the_generated_clients_drive_the_rental_story(urls: Urls, platform: TestPlatform) -> None:
    operator, partner = platform.token("operator"), platform.token("partner")
    wallet_partner = WalletClient(base_url=urls.wallet, token=partner)
    contracts_operator = ContractsClient(base_url=urls.contracts, token=operator)
    contracts_partner = ContractsClient(base_url=urls.contracts, token=partner)

    tariff = await set_tariff.asyncio(
        PHONE_PRODUCT,
        client=contracts_operator,
        body=TariffWrite(rate_per_day="86.4", licences=[LicenceSpec(type_="PORT", count=1)]),
    )
    assert parsed(tariff, TariffRead).product == PHONE_PRODUCT

    account = parsed(
        await open_account.asyncio(client=wallet_partner, body=AccountCreate(name="Client Ltd"), idempotency_key=key()),
        AccountRead,
    )
    customer = platform.token("customer", account_id=str(account.id))
    contracts_customer = ContractsClient(base_url=urls.contracts, token=customer)
    provisioning_customer = ProvisioningClient(base_url=urls.provisioning, token=customer)

    domain = await until_arrived(
        lambda: create_domain.asyncio(
            client=ProvisioningClient(base_url=urls.provisioning, token=partner),
            body=DomainCreate(account_id=account.id, name="client.example"),
            idempotency_key=key(),
        ),
        DomainRead,
    )
    contract = await until_arrived(
        lambda: open_contract.asyncio(
            client=contracts_partner, body=ContractCreate(account_id=account.id), idempotency_key=key()
        ),
        ContractRead,
    )
    await until_arrived(
        lambda: link_domain.asyncio(
            contract.id, client=contracts_customer, body=DomainLinkCreate(domain_id=domain.id), idempotency_key=key()
        ),
        ContractRead,
    )
    parsed(await accept_contract.asyncio(contract.id, client=contracts_customer), ContractRead)
    approved = parsed(await approve_contract.asyncio(contract.id, client=contracts_operator), ContractRead)
    assert approved.status is ContractStatus.ACTIVE

    state = GatewayState.generate(phones=1, phone_product=PHONE_PRODUCT)
    registered = await register_gateway.asyncio(
        domain.id,
        client=ProvisioningClient(base_url=urls.provisioning, token=partner),
        body=GatewayCreate(hwid=state.hwid, product=state.product, public_key=state.public_key),
        idempotency_key=key(),
    )
    assert parsed(registered, GatewayRead).hwid == state.hwid

    async with httpx.AsyncClient(timeout=10) as http:
        fleet = Fleet(
            states=[state],
            store=MemoryStore(),
            distributor_url=urls.licensing,
            client=http,
            backoff_base_s=0.1,
            backoff_cap_s=0.5,
        )
        gateway = fleet.gateways[0]
        fleet.start()
        try:
            await _rent_on_the_gateway(
                urls,
                platform,
                gateway,
                account=account,
                contract=contract,
                domain=domain,
                provisioning=provisioning_customer,
                contracts=contracts_customer,
            )
        finally:
            await fleet.stop()

    # Terminated without a body: the reason is the default one.
    terminated = await terminate_contract.asyncio(contract.id, client=contracts_partner, idempotency_key=key())
    assert parsed(terminated, ContractRead).status is ContractStatus.TERMINATED

    await _read_back_as_models(urls, contract=contract, domain=domain, contracts=contracts_customer, customer=customer)


async def _rent_on_the_gateway(
    urls: Urls,
    platform: TestPlatform,
    gateway: SimulatedGateway,
    *,
    account: AccountRead,
    contract: ContractRead,
    domain: DomainRead,
    provisioning: ProvisioningClient,
    contracts: ContractsClient,
) -> None:
    await eventually(lambda: _ready(gateway), until=lambda g: g.connected and g.current is not None, within=15)
    phone = gateway.state.phones[0].hwid

    # A provisioning code with no body at all (the body is optional, and plainly so in the document).
    code = parsed(await issue_provisioning_code.asyncio(domain.id, client=provisioning), ProvisioningCodeIssued)
    enrolment = Enrolment(code=code.code, hwid=phone, product=PHONE_PRODUCT, type_=ProvisioningDeviceType.PHONE)
    device = parsed(
        await enrol_device.asyncio(client=ProvisioningAnonymous(base_url=urls.provisioning), body=enrolment),
        DeviceRead,
    )
    # A mistyped code is a typed problem with a code of the document's enum.
    wrong = await enrol_device.asyncio(
        client=ProvisioningAnonymous(base_url=urls.provisioning),
        body=Enrolment(code="ZZZZ-ZZZZ-ZZZZ", hwid="0004f2000001", product=PHONE_PRODUCT, type_=enrolment.type_),
    )
    assert parsed(wrong, ProvisioningProblem).code is ProvisioningProblemCode.PROVISIONING_CODE_UNKNOWN

    # A key batch whose answer was lost: the retry with the same key and body gets the same codes.
    wallet_partner = WalletClient(base_url=urls.wallet, token=platform.token("partner"))
    batch_key, batch = key(), KeyBatchCreate(amount="100", count=1)
    first = parsed(
        await issue_key_batch.asyncio(client=wallet_partner, body=batch, idempotency_key=batch_key), KeyBatchRead
    )
    again = parsed(
        await issue_key_batch.asyncio(client=wallet_partner, body=batch, idempotency_key=batch_key), KeyBatchRead
    )
    assert again.to_dict() == first.to_dict()

    wallet_customer = WalletClient(base_url=urls.wallet, token=platform.token("customer", account_id=str(account.id)))
    redeemed = await redeem_activation_key.asyncio(
        account.id, client=wallet_customer, body=RedemptionCreate(code=first.keys[0].code), idempotency_key=key()
    )
    assert Decimal(parsed(redeemed, RedemptionRead).balance) == Decimal(100)

    async def hardware() -> PageHardwareItem:
        return parsed(await list_hardware.asyncio(contract.id, client=contracts), PageHardwareItem)

    listed = await eventually(
        hardware, until=lambda page: any(i.device_id == device.id and i.rentable for i in page.items), within=15
    )
    assert {item.type_ for item in listed.items} == {DeviceType.PHONE}

    rental = await until_arrived(
        lambda: activate_rental.asyncio(
            contract.id, client=contracts, body=RentalCreate(device_id=device.id), idempotency_key=key()
        ),
        RentalRead,
        also=("not_yet_known", "no_credit"),
    )
    await eventually(lambda: _ready(gateway), until=lambda g: g.phones_running() == [phone], within=10)

    # Deactivated with no body.
    ended = await deactivate_rental.asyncio(contract.id, rental.id, client=contracts, idempotency_key=key())
    assert parsed(ended, RentalRead).status is RentalStatus.DEACTIVATED
    await eventually(
        lambda: _ready(gateway), until=lambda g: g.current is not None and g.current.devices == (), within=10
    )
    assert gateway.stats.rejected == []
    balance = parsed(await get_account.asyncio(account.id, client=wallet_customer), AccountRead).balance
    assert Decimal(0) < Decimal(balance) < Decimal(100)


async def _ready(gateway: SimulatedGateway) -> SimulatedGateway:
    return gateway


async def _read_back_as_models(
    urls: Urls, *, contract: ContractRead, domain: DomainRead, contracts: ContractsClient, customer: str
) -> None:
    history = parsed(await list_history.asyncio(contract.id, client=contracts, limit=100), PageHistoryEntryRead)
    types = {entry.type_ for entry in history.items}
    assert {
        HistoryEntryType.CONTRACTOPENED,
        HistoryEntryType.CONTRACTACTIVATED,
        HistoryEntryType.CREDITSLOADED,
        HistoryEntryType.DEVICEACTIVATED,
        HistoryEntryType.DEVICEDEACTIVATED,
        HistoryEntryType.CONTRACTTERMINATED,
    } <= types
    activated = next(e for e in history.items if e.type_ is HistoryEntryType.DEVICEACTIVATED)
    assert activated.data.contract_id == contract.id
    assert activated.data.domain_id == domain.id

    licences = await get_domain_licences.asyncio(
        domain.id, client=LicensingClient(base_url=urls.licensing, token=customer)
    )
    assert parsed(licences, DomainLicencesRead).bundle.devices == []
    jwks = parsed(await get_jwks.asyncio(client=LicensingAnonymous(base_url=urls.licensing)), JwksRead)
    assert jwks.keys
    assert {(k.kty, k.crv) for k in jwks.keys} == {("OKP", "Ed25519")}

    # Not found is one code across the services, as a typed problem.
    missing = await get_contract.asyncio(uuid.uuid4(), client=contracts)
    assert parsed(missing, ContractsProblem).code is ContractsProblemCode.NOT_FOUND
