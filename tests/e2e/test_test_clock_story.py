"""Issue 18: a rental on a test clock, across the four running services and the simulator.

An account opened on a clock (1 March 2027) rents a phone at 1 iSC per second on 400,000 iSC; a price rise to
2 iSC per second is scheduled for 3 March. At both rates the burn is exactly 1 and 2 micro-iSC per microsecond,
so the run-out is computed here exactly: 172,800 iSC burnt by the rise, the rest at 2 per microsecond.

The clock is advanced in two steps. Contracts applies the rise when the clock passes it (the tariff job would do
it only on 3 March 2027 in real time), the distributor signs the clocked domain's bundles on the clock's time and
marks them simulated, the clock reads `ready` only once both caught up with it, and the simulator that follows
the clock stops its phones at the clocked run-out, to the second. A production gateway on the same domain refuses
every simulated bundle; a live account renting the same product is untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from gateway_simulator.fleet import register_gateways
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import Rejection
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.money import MICRO_PER_ISC
from tests.e2e.test_price_rise_reaches_the_bundle import enrol
from tests.e2e.test_rental_story import Platform
from tests.harness import TestPlatform, admin_fetch, eventually, ready, running_gateway, running_service
from tests.integration.license_distributor.conftest import serving_distributor
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

pytestmark = pytest.mark.slow

START = datetime(2027, 3, 1, tzinfo=UTC)
RISE_AT = START + timedelta(days=2)
BALANCE_ISC = 400_000
US = timedelta(microseconds=1)


def run_out() -> datetime:
    """The first microsecond the balance reads zero: 1 per microsecond until the rise, 2 after it."""
    balance = BALANCE_ISC * MICRO_PER_ISC
    used = (RISE_AT - START) // US
    return RISE_AT + timedelta(microseconds=(balance - used - 1) // 2 + 1)


RUN_OUT = run_out()


@pytest.fixture(scope="module")
async def running(platform: TestPlatform) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        clients = {
            "wallet": await stack.enter_async_context(running_service(WALLET, platform.settings(WalletSettings))),
            "contracts": await stack.enter_async_context(
                running_service(CONTRACTS, platform.settings(ContractsSettings))
            ),
            "provisioning": await stack.enter_async_context(
                running_service(PROVISIONING, platform.settings(ProvisioningSettings))
            ),
        }
        yield Platform(platform, clients, "")


async def renting(p: Platform, *, product: str, clock_id: str | None) -> tuple[str, str, str]:
    """An account (on the clock, or live) with an approved contract and a linked domain: (account, domain,
    contract)."""
    body: dict[str, object] = {"name": f"Clocked {product}"}
    if clock_id is not None:
        body["test_clock_id"] = clock_id
    account = await p.wallet.post("/v1/accounts", json=body, headers=p.auth("partner"))
    assert account.status_code == 201, account.text
    account_id = str(account.json()["id"])
    domain_id, contract_id = await p.approved_contract(account_id)
    return account_id, domain_id, contract_id


async def rent_a_phone(
    p: Platform, *, account_id: str, domain_id: str, contract_id: str, phone: str, product: str
) -> dict[str, object]:
    device_id = await enrol(p, account_id=account_id, domain_id=domain_id, hwid=phone, product=product)
    await p.redeem(account_id, await p.key(str(BALANCE_ISC)))
    await p.rentable(contract_id=contract_id, account_id=account_id, device_id=device_id)
    rental = await p.until_known(
        also_retry=("no_credit",),
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/rentals",
        json={"device_id": device_id},
        headers={**p.auth("customer", account_id), "Idempotency-Key": uuid.uuid4().hex},
    )
    body: dict[str, object] = rental.json()
    return body


async def account(p: Platform, account_id: str) -> dict[str, object]:
    read = await p.wallet.get(f"/v1/accounts/{account_id}", headers=p.auth("customer", account_id))
    assert read.status_code == 200, read.text
    body: dict[str, object] = read.json()
    return body


async def advance(p: Platform, clock_id: str, *, to: datetime) -> None:
    """Advance and wait on the clock's status (never on time)."""
    response = await p.wallet.post(
        f"/v1/test-clocks/{clock_id}/advance",
        json={"to": to.isoformat()},
        headers={**p.auth("partner"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 202, response.text

    async def clock() -> dict[str, object]:
        read = await p.wallet.get(f"/v1/test-clocks/{clock_id}", headers=p.auth("partner"))
        assert read.status_code == 200, read.text
        body: dict[str, object] = read.json()
        return body

    done = await eventually(clock, until=lambda c: c["status"] == "ready", within=60, what="the clock ready")
    assert datetime.fromisoformat(str(done["frozen_time"])) == to


async def caught_up(platform: TestPlatform, clock_id: str) -> dict[str, datetime]:
    rows = await admin_fetch(
        platform,
        "SELECT follower, caught_up_to FROM wallet.test_clock_follower WHERE test_clock_id = $1",
        uuid.UUID(clock_id),
    )
    return {r["follower"]: r["caught_up_to"] for r in rows}


async def gateways_of(
    p: Platform,
    stack: AsyncExitStack,
    http: httpx.AsyncClient,
    *,
    distributor_url: str,
    domain_id: str,
    sandbox: int = 1,
) -> list[SimulatedGateway]:
    """A gateway with one phone (following test clocks if `sandbox`), then a production one without phones (only on
    a domain with a sandbox gateway), registered on the domain and connected."""
    product = "PHONE"
    states = [(GatewayState.generate(phones=1, phone_product=product), bool(sandbox))]
    if sandbox:
        states.append((GatewayState.generate(phones=0, phone_product=product), False))
    gateways = []
    for state, follow in states:
        registered = await register_gateways(
            [state], provisioning_url="", domain_id=domain_id, token=p.platform.token("partner"), client=p.provisioning
        )
        assert registered == [state.hwid]
        gateways.append(
            await stack.enter_async_context(
                running_gateway(
                    state, distributor_url=distributor_url, client=http, store=MemoryStore(), follow_test_clock=follow
                )
            )
        )
    return gateways


async def a_clock_and_a_tariff(p: Platform, *, product: str) -> str:
    """The product's tariff at 1 iSC per second, and a new test clock at START: its id."""
    tariff = await p.contracts.put(
        f"/v1/tariffs/{product}",
        json={"rate_per_day": "86400", "licences": [{"type": "PORT", "count": 1}]},
        headers=p.auth("operator"),
    )
    assert tariff.status_code in (200, 201), tariff.text
    created = await p.wallet.post(
        "/v1/test-clocks",
        json={"name": "rehearsal", "frozen_time": START.isoformat()},
        headers={**p.auth("partner"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def floored(at: datetime) -> datetime:
    return at.replace(microsecond=0)


async def test_a_rental_on_a_test_clock_runs_out_at_the_clocked_instant_on_every_service_and_the_gateway(
    running: Platform, platform: TestPlatform
) -> None:
    p = running
    product = f"PHONE-CLOCK-{uuid.uuid4().hex[:6].upper()}"
    operator = p.auth("operator")
    clock_id = await a_clock_and_a_tariff(p, product=product)

    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        distributor = await stack.enter_async_context(serving_distributor(platform))
        account_id, domain_id, contract_id = await renting(p, product=product, clock_id=clock_id)
        live_account, live_domain, live_contract = await renting(p, product=product, clock_id=None)

        sandbox, production = await gateways_of(p, stack, http, distributor_url=distributor.url, domain_id=domain_id)
        (live,) = await gateways_of(p, stack, http, distributor_url=distributor.url, domain_id=live_domain, sandbox=0)
        phone = sandbox.state.phones[0].hwid
        rental = await rent_a_phone(
            p, account_id=account_id, domain_id=domain_id, contract_id=contract_id, phone=phone, product=product
        )
        # Activated at the clock's time, not the real one.
        assert datetime.fromisoformat(str(rental["activated_at"])) == START
        live_phone = live.state.phones[0].hwid
        await rent_a_phone(
            p,
            account_id=live_account,
            domain_id=live_domain,
            contract_id=live_contract,
            phone=live_phone,
            product=product,
        )
        await eventually(lambda: ready(sandbox.phones_running()), until=lambda running: running == [phone], within=15)
        # Signed on the clock's time and marked simulated: the sandbox gateway runs on it, production refuses it.
        assert sandbox.current is not None
        assert sandbox.current.test_clock_id == clock_id
        assert START <= sandbox.current.issued_at < START + timedelta(minutes=1)
        assert sandbox.test_clock_time == START
        await eventually(lambda: ready(production.stats.rejected), until=lambda r: Rejection.SIMULATED in r, within=15)
        assert production.current is None
        await eventually(lambda: ready(live.phones_running()), until=lambda running: running == [live_phone], within=15)
        assert live.current is not None
        assert live.current.test_clock_id is None
        live_before = await account(p, live_account)

        rise = await p.contracts.put(
            f"/v1/tariffs/{product}",
            json={
                "rate_per_day": "172800",
                "licences": [{"type": "PORT", "count": 1}],
                "effective_at": RISE_AT.isoformat(),
            },
            headers=operator,
        )
        assert rise.status_code == 200, rise.text
        await eventually(
            lambda: account(p, account_id),
            until=lambda a: a["depletes_at"] is not None and datetime.fromisoformat(str(a["depletes_at"])) == RUN_OUT,
            within=15,
            what="the piecewise run-out on the clock",
        )

        # Past the rise: contracts applied it on the clock, at its instant; the clock is ready once all caught up.
        three_days = START + timedelta(days=3)
        await advance(p, clock_id, to=three_days)
        assert await caught_up(platform, clock_id) == {"contracts": three_days, "licensing": three_days}
        clocked = await account(p, account_id)
        assert datetime.fromisoformat(str(clocked["depletes_at"])) == RUN_OUT
        assert Decimal(str(clocked["balance"])) == BALANCE_ISC - 2 * 86_400 - 2 * 86_400
        await eventually(lambda: ready(sandbox.test_clock_time), until=lambda t: t == three_days, within=15)
        assert sandbox.phones_running() == [phone]

        # Past the run-out: the wallet stops the rental at its instant, the gateway's phones stop then.
        await advance(p, clock_id, to=RUN_OUT + timedelta(hours=1))
        await eventually(lambda: ready(sandbox.phones_running()), until=lambda running: running == [], within=15)
        last_run = sandbox.stats.runs[-1]
        assert last_run.end == floored(RUN_OUT)
        assert sandbox.current is None or not sandbox.current.devices
        assert Decimal(str((await account(p, account_id))["balance"])) == 0

        # The live account: same ledger, same run-out, its gateway still running on real time.
        live_after = await account(p, live_account)
        assert live_after["depletes_at"] == live_before["depletes_at"]
        assert live.phones_running() == [live_phone]
        assert live.test_clock_time is None


async def ledger(platform: TestPlatform, account_id: str) -> list[tuple[str, int, int, datetime]]:
    rows = await admin_fetch(
        platform,
        "SELECT kind, amount, balance_after, at FROM wallet.ledger_entry WHERE account_id = $1 ORDER BY seq",
        uuid.UUID(account_id),
    )
    return [(r["kind"], int(r["amount"]), int(r["balance_after"]), r["at"]) for r in rows]


async def test_steps_and_one_advance_book_alike_across_the_services_a_price_rise_included(
    running: Platform, platform: TestPlatform
) -> None:
    """Two clocks from the same instant, each with an account renting the same product on the same credit, and the
    same rise scheduled for both: one clock goes in uneven steps (one of them ends exactly at the rise), the other
    in one advance. Contracts applies the rise on each clock at its instant, so both wallets book the same ledger
    and run out at the same instant, the one computed here."""
    p = running
    product = f"PHONE-STEPS-{uuid.uuid4().hex[:6].upper()}"
    stepped_clock = await a_clock_and_a_tariff(p, product=product)
    created = await p.wallet.post(
        "/v1/test-clocks",
        json={"name": "in one go", "frozen_time": START.isoformat()},
        headers={**p.auth("partner"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status_code == 201, created.text
    one_go_clock = str(created.json()["id"])
    accounts, contracts = [], []
    for clock_id in (stepped_clock, one_go_clock):
        account_id, domain_id, contract_id = await renting(p, product=product, clock_id=clock_id)
        rental = await rent_a_phone(
            p,
            account_id=account_id,
            domain_id=domain_id,
            contract_id=contract_id,
            phone=uuid.uuid4().hex[:12],
            product=product,
        )
        assert datetime.fromisoformat(str(rental["activated_at"])) == START
        accounts.append(account_id)
        contracts.append(contract_id)
    rise = await p.contracts.put(
        f"/v1/tariffs/{product}",
        json={
            "rate_per_day": "172800",
            "licences": [{"type": "PORT", "count": 1}],
            "effective_at": RISE_AT.isoformat(),
        },
        headers=p.auth("operator"),
    )
    assert rise.status_code == 200, rise.text
    for account_id in accounts:
        await eventually(
            lambda account_id=account_id: account(p, account_id),  # type: ignore[misc]
            until=lambda a: a["depletes_at"] is not None and datetime.fromisoformat(str(a["depletes_at"])) == RUN_OUT,
            within=15,
            what="the piecewise run-out on each clock",
        )

    end = START + timedelta(days=5)
    # The distributor follows the clocks too: no clock is ready before it caught up.
    async with serving_distributor(platform):
        for to in (START + timedelta(hours=30), RISE_AT, RISE_AT + timedelta(hours=7, minutes=13), end):
            await advance(p, stepped_clock, to=to)
        await advance(p, one_go_clock, to=end)

    stepped = await ledger(platform, accounts[0])
    one_go = await ledger(platform, accounts[1])
    assert stepped == one_go
    # Credit, a settlement at each of the first three midnights (one day at 1 iSC/s, one at 1 then 2, ...), the
    # run-out at the piecewise instant, and nothing after it.
    assert stepped[-1][0] == "usage"
    assert stepped[-1][2] == 0
    assert stepped[-1][3] == RUN_OUT
    assert [entry[3] for entry in stepped[1:-1]] == [START + timedelta(days=d) for d in (1, 2, 3)]
    for account_id, contract_id in zip(accounts, contracts, strict=True):
        read = await account(p, account_id)
        assert read["status"] == "depleted"
        assert datetime.fromisoformat(str(read["test_clock_time"])) == end
        # Contracts took the rise on each clock at its instant (live, it takes effect only in 2027).
        history = await p.contracts.get(
            f"/v1/contracts/{contract_id}/history?limit=100", headers=p.auth("customer", account_id)
        )
        assert history.status_code == 200, history.text
        changed = [e for e in history.json()["items"] if e["type"] == "TariffChanged"]
        assert [datetime.fromisoformat(e["at"]) for e in changed] == [RISE_AT], changed
