"""The fault run's workload: concurrent partners, customers, an operator and gateways, each drawn from the seed.

Every actor is its own task with its own random stream (`workload:<seed>:<actor>`), so the same seed replays
the same choices per actor; how they interleave, and how many fit into the run, depends on how fast the
faulted services come back. Actors share nothing but what the platform would share in life: partners hand
activation keys to customers, two customers of an account work on the same contract and the same phones
(one may deactivate the rental the other is replacing: the loser gets a refusal, which is fine), the operator
changes the tariff under everyone, and the gateways are dropped while bundles are being pushed to them.

One more account reloads by Auto-iSC (issue 16) all through the faults: it rents one phone of a product of its
own, at a rate (`RELOAD_RATE_PER_DAY`) low enough that a key of 30 days' worth is a key the partner can sell, so
Auto-iSC's precondition is met as a customer would meet it; its threshold is those 30 days, so the time left
crosses it seconds after the rental starts, and each reload moves the run-out on by `RELOAD_EVERY_S` only: the
wallet's scheduler fires a crossing every 1.5 s, through the kills and restarts. Its partner suspends its Auto-iSC
for a while (the crossings due meanwhile are refused, the next after it is allowed again reloads at once), and
for good once the faults are over, so that a last crossing is refused and nothing is due when the checker reads the
wallet. Its customers act on nothing else, so nothing but the reloads moves its run-out; it has no contact
address (no mail per reload).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from reliability.checker import Redemption, RentalChange, SoftwareChange

from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState
from shared.dev_issuer import issue_token, load_or_create_key
from shared.money import MICRO_PER_ISC, SECONDS_PER_DAY, format_isc, parse_isc
from tests.harness import Tenant, eventually
from tests.integration.scale.replicas import CONTRACTS, LICENSE_DISTRIBUTOR, PROVISIONING, WALLET, ReplicaSet

PHONE = "PHONE-FAULT"
PHONES_PER_GATEWAY = 5  # spares, so that an RMA has a device to replace onto
ACCOUNTS = 3  # the first is thrifty: it runs out during the workload and again at its end
PARTNERS = 2
CUSTOMERS_PER_ACCOUNT = 2
# Tariffs the operator switches between (iSC per device and day): high, so that the thrifty account, which
# is sold keys of 1 iSC only, runs out within seconds, while the others are sold keys of 1,000-5,000 iSC.
TARIFF_RATES = ("86400", "172800", "259200")
# Software licence types rented per domain (issue 16), at one iSC per licence and second.
SOFTWARE_TYPES = ("FAULTUC", "FAULTFAX")
SOFTWARE_RATE = "86400"
KIND_BY_NAME = {kind.name: kind for kind in (WALLET, CONTRACTS, PROVISIONING, LICENSE_DISTRIBUTOR)}
# The Auto-iSC account (issue 16): its phone's product and tariff (0.1 iSC a second: 30 days' worth is 259,200 iSC,
# within a key's 1,000,000), the same every seed, so never a rise, never changed by the operator.
RELOAD_PRODUCT = "PHONE-FAULT-RELOAD"
RELOAD_RATE_PER_DAY = 8640 * MICRO_PER_ISC
RELOAD_THRESHOLD_DAYS = 30
RELOAD_LEAD_S = 2  # the first crossing comes this long after its rental starts
RELOAD_EVERY_S = 1.5  # each reload moves the run-out on by this much: the next crossing comes that much later
RELOAD_AMOUNT = int(RELOAD_RATE_PER_DAY * RELOAD_EVERY_S) // SECONDS_PER_DAY
# The monthly cap: a bound the run does not reach (a cluster seed's faults go on for minutes), should the partner's
# suspension at the end fail to stop the reloads; the crossing after them would be refused.
RELOADS_CAP = 400
# Loaded by hand: 30 days' worth at its rate (Auto-iSC's precondition) and the lead.
RELOAD_KEY = RELOAD_THRESHOLD_DAYS * RELOAD_RATE_PER_DAY + RELOAD_RATE_PER_DAY * RELOAD_LEAD_S // SECONDS_PER_DAY


@dataclass(frozen=True)
class SoldKey:
    id: str
    code: str
    amount: int  # micro-iSC


@dataclass(kw_only=True)
class FaultRunTenant(Tenant):
    """One account of the run: its domain, its active contract, its gateway and what its customers know."""

    customers: list[dict[str, str]]  # the account's customers (`customer` the first), each its own principal
    gateway: GatewayState
    device_ids: dict[str, str] = field(default_factory=dict)  # phone hwid -> device id
    rentals: dict[str, str] = field(default_factory=dict)  # device id -> active rental id, as the customers know
    replaced: set[str] = field(default_factory=set)  # device ids replaced away by an RMA: never rented again
    keys: list[SoldKey] = field(default_factory=list)  # activation keys a partner sold, not yet redeemed
    thrifty: bool = False  # is sold tiny keys only: runs out
    reloading: bool = False  # reloads by Auto-iSC; sold one key at the start, and no customer acts on it
    partner: dict[str, str] = field(default_factory=dict)  # the auth headers of the partner that opened it
    software: dict[str, tuple[str, int]] = field(default_factory=dict)  # licence type -> (rental id, count) rented
    # One software change at a time per account: the checker compares each rental's count with the last one
    # confirmed, which needs the answers in the order the changes committed.
    software_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The test clock it lives on (None: a live account); the run advances it while the faults are injected.
    test_clock_id: str | None = None

    def idle(self) -> list[str]:
        return [d for d in self.device_ids.values() if d not in self.rentals and d not in self.replaced]


class Client:
    """The workload's HTTP client: a request is retried with the same Idempotency-Key while its service is down."""

    def __init__(self, replicas: ReplicaSet, http: httpx.AsyncClient) -> None:
        self.replicas = replicas
        self.http = http
        self.operator = replicas.platform.auth("operator")
        # Every 5xx answer seen (and retried), by status: 503 is a service telling the client to retry (its
        # database away); any other is an error the service did not expect, and fails the seed.
        self.server_errors: Counter[int] = Counter()

    def url(self, service: str) -> str:
        return self.replicas.of(KIND_BY_NAME[service])[0].url

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: dict[str, object] | None = None,
        within: float = 40,
    ) -> httpx.Response | None:
        """The final answer, or None when the service never answered (the outcome is then unknown)."""
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}

        async def attempt() -> httpx.Response | None:
            try:
                return await self.http.request(method, f"{self.url(service)}{path}", headers=headers, json=json)
            except httpx.TransportError:
                return None

        def settled(response: httpx.Response | None) -> bool:
            if response is not None and response.status_code >= 500:
                self.server_errors[response.status_code] += 1
            if response is None or response.status_code >= 500:
                return False
            return not (response.status_code == 409 and response.json().get("code") == "not_yet_known")

        try:
            return await eventually(attempt, until=settled, within=within, every=0.2)
        except AssertionError:
            return None

    async def ok(
        self, service: str, method: str, path: str, *, headers: dict[str, str], json: dict[str, object] | None = None
    ) -> dict[str, object]:
        response = await self.request(service, method, path, headers=headers, json=json)
        assert response is not None, f"{method} {path}: no answer"
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        body: dict[str, object] = response.json()
        return body


def notice_address(account_id: str) -> str:
    return f"notices-{account_id}@fault-run.example"


async def open_tenant(
    client: Client,
    *,
    label: str,
    phones: int = PHONES_PER_GATEWAY,
    phone_product: str = PHONE,
    mailed: bool = True,
    test_clock_id: str | None = None,
) -> FaultRunTenant:
    """An account set up the way a partner and its customer would: domain, active contract, gateway, phones, and
    (when `mailed`) a contact address for its notices; on a test clock if `test_clock_id`."""
    partner = client.replicas.platform.auth("partner")
    body: dict[str, object] = {"name": label}
    if test_clock_id is not None:
        body["test_clock_id"] = test_clock_id
    account = await client.ok("wallet", "POST", "/v1/accounts", headers=partner, json=body)
    account_id = str(account["id"])
    customer = client.replicas.platform.auth("customer", account_id=account_id)
    domain = await client.ok(
        "provisioning",
        "POST",
        "/v1/domains",
        headers=partner,
        json={"account_id": account_id, "name": f"{uuid.uuid4().hex[:10]}.example"},
    )
    contract = await client.ok("contracts", "POST", "/v1/contracts", headers=partner, json={"account_id": account_id})
    contract_id = str(contract["id"])
    await client.ok(
        "contracts", "POST", f"/v1/contracts/{contract_id}/domains", headers=customer, json={"domain_id": domain["id"]}
    )
    await client.ok("contracts", "POST", f"/v1/contracts/{contract_id}/acceptance", headers=customer)
    await client.ok("contracts", "POST", f"/v1/contracts/{contract_id}/approval", headers=client.operator)
    gateway = GatewayState.generate(phones=phones, phone_product=phone_product)
    await client.ok(
        "provisioning",
        "POST",
        f"/v1/domains/{domain['id']}/gateways",
        headers=partner,
        json={"hwid": gateway.hwid, "product": gateway.product, "public_key": gateway.public_key},
    )
    customers = [
        customer,
        *(client.replicas.platform.auth("customer", account_id=account_id) for _ in range(1, CUSTOMERS_PER_ACCOUNT)),
    ]
    # Its notices go to an address of its own (the single-server run checks they arrive once each).
    if mailed:
        await client.ok(
            "wallet",
            "PUT",
            f"/v1/accounts/{account_id}/contacts",
            headers=customer,
            json={"emails": [notice_address(account_id)]},
        )
    tenant = FaultRunTenant(
        test_clock_id=test_clock_id,
        account_id=account_id,
        name=label,
        customer=customer,
        customers=customers,
        domain_id=str(domain["id"]),
        contract_id=contract_id,
        gateway=gateway,
        partner=partner,
    )
    for phone in gateway.phones:
        code = await client.ok(
            "provisioning", "POST", f"/v1/domains/{tenant.domain_id}/provisioning-codes", headers=customer, json={}
        )
        device = await client.ok(
            "provisioning",
            "POST",
            "/v1/provisioning",
            headers={},
            json={"code": code["code"], "hwid": phone.hwid, "product": phone_product, "type": "PHONE"},
        )
        tenant.device_ids[phone.hwid] = str(device["id"])
    return tenant


async def think(rng: random.Random, low: float, high: float) -> None:
    """An actor's pause between two operations, drawn from its seed: pacing the workload, not awaiting a result."""
    await asyncio.sleep(rng.uniform(low, high))


@dataclass
class Workload:
    client: Client
    seed: int
    tenants: list[FaultRunTenant]
    redemptions: list[Redemption] = field(default_factory=list)
    rental_changes: list[RentalChange] = field(default_factory=list)
    software_changes: list[SoftwareChange] = field(default_factory=list)
    gateways: dict[str, SimulatedGateway] = field(default_factory=dict)  # account id -> its gateway
    operations: int = 0  # attempted, including those that found nothing to do (no key in hand, no idle phone)
    done: Counter[str] = field(default_factory=Counter)
    partners: list[dict[str, str]] = field(default_factory=list)
    # While faults are still being injected the actors go on past `until` (faults are injected one after the
    # other, and a cluster seed's last one can end well after the drawn 12 s): no fault meets an idle platform.
    faults_pending: bool = False
    # Auto-iSC reload orders the wallet placed while the faults were being injected (for the seed's report).
    reloads_under_faults: int = 0
    # Advances of the clocked tenant's test clock that reached `ready` (for the seed's report).
    clock_advances: int = 0

    def __post_init__(self) -> None:
        # Each partner is its own principal (its own token subject); they only sell keys, so no account scope binds.
        key = load_or_create_key(self.client.replicas.platform.dev_dir)
        self.partners = [
            {"Authorization": f"Bearer {issue_token(key, roles=['partner'], subject=f'workload-partner-{n}')}"}
            for n in range(PARTNERS)
        ]

    def rng(self, actor: str) -> random.Random:
        return random.Random(f"workload:{self.seed}:{actor}")

    @property
    def busy(self) -> list[FaultRunTenant]:
        """The accounts partners sell to and customers act on: all but the Auto-iSC one."""
        return [t for t in self.tenants if not t.reloading]

    # --- partners -------------------------------------------------------------------------------------------

    async def sell_keys(self, partner: dict[str, str], tenant: FaultRunTenant, rng: random.Random) -> None:
        """A partner issues a batch of keys and hands them to the tenant's customers."""
        # The thrifty account gets single keys of 1 iSC: at these tariffs (1-3 iSC per phone and second) it runs
        # out again and again during the run, and soon after it at the end.
        amount, count = (1, 1) if tenant.thrifty else (rng.randrange(1000, 5000), rng.randrange(1, 3))
        batch = await self.client.request(
            "wallet",
            "POST",
            "/v1/activation-keys",
            headers=partner,
            json={"amount": str(amount), "count": count},
        )
        if batch is None or batch.status_code != 201:
            return  # no codes in hand (the answer was lost): nothing to redeem, nothing recorded
        tenant.keys.extend(SoldKey(k["id"], k["code"], amount * 1_000_000) for k in batch.json()["keys"])
        self.done["sell keys"] += 1

    # --- customers ------------------------------------------------------------------------------------------

    async def redeem(self, tenant: FaultRunTenant, customer: dict[str, str], rng: random.Random) -> None:
        """Redeem a key in hand; one time in five, the code was shared and two requests redeem it at once."""
        if not tenant.keys:
            return
        key = tenant.keys.pop(rng.randrange(len(tenant.keys)))
        racing = 2 if rng.random() < 0.2 else 1
        answers = await asyncio.gather(
            *(
                self.client.request(
                    "wallet",
                    "POST",
                    f"/v1/accounts/{tenant.account_id}/redemptions",
                    headers=customer,
                    json={"code": key.code},
                )
                for _ in range(racing)
            )
        )
        for answer in answers:
            confirmed = answer is not None and answer.status_code in (200, 201)
            self.redemptions.append(Redemption(key.id, tenant.account_id, key.amount, confirmed))
        self.done["redeem"] += 1
        if racing > 1:
            self.done["redeem one code twice at once"] += 1

    async def activate(self, tenant: FaultRunTenant, customer: dict[str, str], rng: random.Random) -> None:
        idle = tenant.idle()
        if not idle:
            return
        device_id = rng.choice(idle)
        answer = await self.client.request(
            "contracts",
            "POST",
            f"/v1/contracts/{tenant.contract_id}/rentals",
            headers=customer,
            json={"device_id": device_id},
        )
        if answer is None:
            self.rental_changes.append(RentalChange("start", tenant.account_id, None, confirmed=False))
        elif answer.status_code == 201:
            tenant.rentals[device_id] = str(answer.json()["id"])
            self.rental_changes.append(RentalChange("start", tenant.account_id, tenant.rentals[device_id], True))
            self.done["activate"] += 1

    async def deactivate(self, tenant: FaultRunTenant, customer: dict[str, str], rng: random.Random) -> None:
        if not tenant.rentals:
            return
        device_id = rng.choice(sorted(tenant.rentals))
        rental_id = tenant.rentals[device_id]
        answer = await self.client.request(
            "contracts",
            "POST",
            f"/v1/contracts/{tenant.contract_id}/rentals/{rental_id}/deactivation",
            headers=customer,
            json={},
        )
        if answer is None:
            self.rental_changes.append(RentalChange("end", tenant.account_id, rental_id, confirmed=False))
        elif answer.status_code == 200:
            # The other customer may have replaced it meanwhile: forget only the rental this one ended.
            if tenant.rentals.get(device_id) == rental_id:
                del tenant.rentals[device_id]
            self.rental_changes.append(RentalChange("end", tenant.account_id, rental_id, confirmed=True))
            self.done["deactivate"] += 1

    async def replace_device(self, tenant: FaultRunTenant, customer: dict[str, str], rng: random.Random) -> None:
        """RMA: a rented device is replaced by an idle one; the rental carries on on the new device."""
        idle = tenant.idle()
        if not tenant.rentals or not idle:
            return
        old = rng.choice(sorted(tenant.rentals))
        new = rng.choice(idle)
        rental_id = tenant.rentals[old]
        answer = await self.client.request(
            "contracts",
            "POST",
            f"/v1/contracts/{tenant.contract_id}/rentals/{rental_id}/replacement",
            headers=customer,
            json={"device_id": new},
        )
        if answer is None:
            self.rental_changes.append(RentalChange("end", tenant.account_id, rental_id, confirmed=False))
            self.rental_changes.append(RentalChange("start", tenant.account_id, None, confirmed=False))
        elif answer.status_code == 201:
            if tenant.rentals.get(old) == rental_id:
                del tenant.rentals[old]
            tenant.rentals[new] = str(answer.json()["id"])
            tenant.replaced.add(old)
            self.rental_changes.append(RentalChange("end", tenant.account_id, rental_id, confirmed=True))
            self.rental_changes.append(RentalChange("start", tenant.account_id, tenant.rentals[new], confirmed=True))
            self.done["replace (RMA)"] += 1

    async def change_software(self, tenant: FaultRunTenant, customer: dict[str, str], rng: random.Random) -> None:
        """Software licences for the domain: rent a type not rented yet, else change its count or end it."""
        licence_type = rng.choice(SOFTWARE_TYPES)
        async with tenant.software_lock:
            held = tenant.software.get(licence_type)
            base = f"/v1/contracts/{tenant.contract_id}/software-rentals"
            if held is None:
                count = rng.randrange(1, 4)
                body: dict[str, object] = {"domain_id": tenant.domain_id, "type": licence_type, "count": count}
                answer = await self.client.request("contracts", "POST", base, headers=customer, json=body)
                if answer is None:
                    self.software_changes.append(SoftwareChange("start", tenant.account_id, None, count, False))
                elif answer.status_code == 201:
                    rental_id = str(answer.json()["id"])
                    tenant.software[licence_type] = (rental_id, count)
                    self.software_changes.append(SoftwareChange("start", tenant.account_id, rental_id, count, True))
                    self.done["rent software"] += 1
                return
            rental_id, current = held
            if rng.random() < 0.6:
                count = rng.choice([n for n in range(1, 5) if n != current])
                path, kind, body = f"{base}/{rental_id}/count-change", "count", {"count": count}
            else:
                count, path, kind, body = 0, f"{base}/{rental_id}/ending", "end", {}
            answer = await self.client.request("contracts", "POST", path, headers=customer, json=body)
            confirmed = answer is not None and answer.status_code == 200
            if answer is not None and not confirmed:
                return  # refused (a suspended contract, say): nothing changed, nothing to check
            self.software_changes.append(
                SoftwareChange("count" if kind == "count" else "end", tenant.account_id, rental_id, count, confirmed)
            )
            if answer is None:
                # Unknown outcome: the workload forgets this rental (an unconfirmed end may have ended it).
                tenant.software.pop(licence_type, None)
            elif confirmed:
                if kind == "end":
                    del tenant.software[licence_type]
                else:
                    tenant.software[licence_type] = (rental_id, count)
                self.done["end software" if kind == "end" else "change software count"] += 1

    # --- operator and gateways ------------------------------------------------------------------------------

    async def change_tariff(self, rng: random.Random) -> None:
        """A new price: a decrease takes effect at once; a rise of a rented product is refused that soon, and is
        then scheduled for the earliest instant allowed (one lease ahead), as an operator would."""
        tariff: dict[str, object] = {
            "rate_per_day": rng.choice(TARIFF_RATES),
            "licences": [{"type": "PORT", "count": 1}],
        }
        answer = await set_tariff(self.client, tariff)
        if answer is not None and answer.status_code in (200, 201):
            self.done["change tariff"] += 1
        elif answer is not None and _too_soon(answer):
            scheduled = {**tariff, "effective_at": answer.json()["earliest_effective_at"]}
            later = await set_tariff(self.client, scheduled)
            if later is not None and later.status_code in (200, 201):
                self.done["schedule tariff"] += 1

    async def suspend_auto_reload(self, tenant: FaultRunTenant, *, suspended: bool) -> bool:
        """The account's partner stops its reloads (the crossings due meanwhile are refused), or allows them again."""
        answer = await self.client.request(
            "wallet",
            "PUT",
            f"/v1/accounts/{tenant.account_id}/auto-reload/suspension",
            headers=tenant.partner,
            json={"suspended": suspended},
        )
        if answer is None or answer.status_code != 200:
            return False
        self.done["suspend Auto-iSC" if suspended else "allow Auto-iSC again"] += 1
        return True

    async def stop_reloads(self) -> None:
        """After the faults: the partners suspend Auto-iSC for good, so that nothing is due when the wallet is read."""
        for tenant in self.tenants:
            if tenant.reloading:
                assert await self.suspend_auto_reload(tenant, suspended=True), "Auto-iSC not suspended at the end"

    async def drop_gateway(self, rng: random.Random) -> None:
        gateway = self.gateways.get(rng.choice(self.tenants).account_id)
        if gateway is not None:
            await gateway.disconnect()  # its run loop reconnects after its back-off
            self.done["drop gateway"] += 1

    # --- the actors -----------------------------------------------------------------------------------------

    async def partner(self, n: int, *, until: float) -> None:
        rng = self.rng(f"partner-{n}")
        while self._running(until):
            tenant = rng.choice(self.busy)
            # Past the drawn workload, while faults are still pending (a cluster seed's go on for minutes), the
            # thrifty account is sold nothing more: minutes of 1-iSC keys on one rental at a time left it a balance
            # that took 59.9 s of the run-out's 60 s to burn at the end of a cluster seed.
            if not (tenant.thrifty and asyncio.get_running_loop().time() >= until):
                await self.sell_keys(self.partners[n], tenant, rng)
            self.operations += 1
            await think(rng, 0.2, 0.8)

    async def customer(self, tenant: FaultRunTenant, n: int, *, until: float) -> None:
        rng = self.rng(f"customer-{self.tenants.index(tenant)}.{n}")
        actions = [self.redeem, self.activate, self.deactivate, self.replace_device, self.change_software]
        while self._running(until):
            await rng.choices(actions, [3, 3, 2, 1, 1])[0](tenant, tenant.customers[n], rng)
            self.operations += 1
            await think(rng, 0.05, 0.3)

    async def operator(self, *, until: float) -> None:
        rng = self.rng("operator")
        while self._running(until):
            await think(rng, 0.5, 2.0)
            await self.change_tariff(rng)
            self.operations += 1

    async def gateway_drops(self, *, until: float) -> None:
        rng = self.rng("gateway-drops")
        while self._running(until):
            await think(rng, 0.5, 2.0)
            await self.drop_gateway(rng)
            self.operations += 1

    async def reload_partner(self, tenant: FaultRunTenant, *, until: float) -> None:
        """The Auto-iSC account's partner suspends its reloads once, for a while drawn from the seed, and allows them
        again: the crossing due meanwhile is refused, and the one after it reloads at once and catches up."""
        rng = self.rng(f"reload-partner-{self.tenants.index(tenant)}")
        await think(rng, 2.0, 6.0)
        if self._running(until) and await self.suspend_auto_reload(tenant, suspended=True):
            await think(rng, 1.5, 3.0)
            await self.suspend_auto_reload(tenant, suspended=False)
        self.operations += 1

    def _running(self, until: float) -> bool:
        return self.faults_pending or asyncio.get_running_loop().time() < until

    async def run(self, *, until: float) -> None:
        """Every actor at once until `until`: partners, customers, the operator and the gateway drops."""
        await asyncio.gather(
            *(self.partner(n, until=until) for n in range(PARTNERS)),
            *(self.customer(t, n, until=until) for t in self.busy for n in range(CUSTOMERS_PER_ACCOUNT)),
            self.operator(until=until),
            self.gateway_drops(until=until),
            *(self.reload_partner(t, until=until) for t in self.tenants if t.reloading),
            *(self.clock_advancer(t, until=until) for t in self.tenants if t.test_clock_id is not None),
        )

    async def clock_advancer(self, tenant: FaultRunTenant, *, until: float) -> None:
        """The clocked tenant's partner advances its test clock, a step drawn from the seed at a time, and waits
        for each to be ready (every service caught up) before the next: through whatever faults meet it."""
        rng = self.rng(f"clock-{self.tenants.index(tenant)}")
        path = f"/v1/test-clocks/{tenant.test_clock_id}"
        while self._running(until):
            await think(rng, 0.5, 1.5)
            clock = await self.client.ok("wallet", "GET", path, headers=tenant.partner)
            to = datetime.fromisoformat(str(clock["frozen_time"])) + timedelta(seconds=rng.randrange(60, 900))
            # One Idempotency-Key for the step, however often the wallet is away: it is asked for once.
            advanced = await self.client.request(
                "wallet", "POST", f"{path}/advance", headers=tenant.partner, json={"to": to.isoformat()}, within=120
            )
            assert advanced is not None, "the wallet never answered an advance"
            assert advanced.status_code == 202, advanced.text
            await eventually(
                lambda: self.client.ok("wallet", "GET", path, headers=tenant.partner),
                until=lambda c: c["status"] == "ready",
                within=120,
                every=0.2,
                what=f"the test clock ready at {to.isoformat()}",
            )
            self.clock_advances += 1
            self.operations += 1

    async def fund(self) -> None:
        """Before the run: a partner sells each account a key and a customer redeems it, so rentals can start."""
        setup = self.rng("setup")
        for tenant in self.busy:
            await self.sell_keys(self.partners[0], tenant, setup)
            while tenant.keys:
                await self.redeem(tenant, tenant.customers[0], setup)
        for tenant in self.tenants:
            if tenant.reloading:
                await self.arm_auto_reload(tenant, setup)

    async def arm_auto_reload(self, tenant: FaultRunTenant, rng: random.Random) -> None:
        """The Auto-iSC account: a key of 30 days' worth and the lead redeemed, its phone rented, and Auto-iSC set
        with a threshold of those 30 days, as its customer would (the wallet checks the precondition at the rate
        the rental started)."""
        batch = await self.client.ok(
            "wallet",
            "POST",
            "/v1/activation-keys",
            headers=self.partners[0],
            json={"amount": format_isc(RELOAD_KEY), "count": 1},
        )
        keys = batch["keys"]
        assert isinstance(keys, list)
        [key] = keys
        await self.client.ok(
            "wallet",
            "POST",
            f"/v1/accounts/{tenant.account_id}/redemptions",
            headers=tenant.customer,
            json={"code": key["code"]},
        )
        self.redemptions.append(Redemption(key["id"], tenant.account_id, RELOAD_KEY, confirmed=True))

        async def rented() -> bool:
            # Refused while the contracts service has not heard of the credit yet: tried again.
            await self.activate(tenant, tenant.customer, rng)
            return bool(tenant.rentals)

        await eventually(rented, until=bool, within=30, every=0.2, what="the Auto-iSC account's rental")

        async def burning() -> int:
            account = await self.client.ok(
                "wallet", "GET", f"/v1/accounts/{tenant.account_id}", headers=tenant.customer
            )
            return parse_isc(str(account["burn_rate_per_day"]))

        await eventually(burning, until=lambda rate: rate == RELOAD_RATE_PER_DAY, within=30, what="its burn")
        setting = {
            "threshold_days": RELOAD_THRESHOLD_DAYS,
            "amount": format_isc(RELOAD_AMOUNT),
            "monthly_cap": format_isc(RELOADS_CAP * RELOAD_AMOUNT),
            "enabled": True,
        }
        await self.client.ok(
            "wallet", "PUT", f"/v1/accounts/{tenant.account_id}/auto-reload", headers=tenant.customer, json=setting
        )
        self.done["set Auto-iSC"] += 1

    async def settle(self) -> None:
        """After the faults: every account burns (so expiries are checked) and the thrifty ones run out."""
        rng = self.rng("settle")
        for tenant in self.busy:
            if tenant.thrifty:
                for _ in tenant.idle():
                    await self.activate(tenant, tenant.customers[0], rng)
            elif not tenant.rentals:
                await self.activate(tenant, tenant.customers[0], rng)


async def set_tariff(client: Client, tariff: dict[str, object]) -> httpx.Response | None:
    return await client.request("contracts", "PUT", f"/v1/tariffs/{PHONE}", headers=client.operator, json=tariff)


def _too_soon(answer: httpx.Response) -> bool:
    return answer.status_code == 409 and answer.json().get("code") == "tariff_increase_too_soon"


async def set_first_tariff(client: Client) -> None:
    """The seed's price to start from. Seeds share one platform, so the product may be rented at a lower price
    by now: a rise is then refused as too soon, and the run starts from that lower price."""
    answer = await set_tariff(client, {"rate_per_day": TARIFF_RATES[1], "licences": [{"type": "PORT", "count": 1}]})
    assert answer is not None, "the first tariff: no answer"
    assert answer.status_code in (200, 201) or _too_soon(answer), answer.text
    reload_tariff: dict[str, object] = {
        "rate_per_day": format_isc(RELOAD_RATE_PER_DAY),
        "licences": [{"type": "PORT", "count": 1}],
    }
    # The same rate every seed: never a rise, so never refused as too soon.
    await client.ok("contracts", "PUT", f"/v1/tariffs/{RELOAD_PRODUCT}", headers=client.operator, json=reload_tariff)
    for licence_type in SOFTWARE_TYPES:
        # The same rate every seed: never a rise, so never refused as too soon.
        software = await client.request(
            "contracts",
            "PUT",
            f"/v1/software-tariffs/{licence_type}",
            headers=client.operator,
            json={"rate_per_day": SOFTWARE_RATE},
        )
        assert software is not None, "the software tariff: no answer"
        assert software.status_code == 200, software.text
