"""The demo tenant `make run` seeds, through the public HTTP APIs only, as a client would.

- tariffs for two phone models and a gateway;
- "Demo GmbH": credits from a redeemed key, an approved contract, a domain linked to it, three simulated
  gateways registered there, four of their phones enrolled with provisioning codes, two of them rented;
- "Kurz & Knapp KG": the same in small, one gateway and one rented phone on a few minutes of credit, so the
  warnings and a run-out can be watched.

Idempotent: every step first looks whether its result is already there (found through the APIs, not a local
file), so seeding twice changes nothing. `RENTAL_DEMO=0` (`make run DEMO=0`) seeds nothing. The demo accounts
are written to `<dev dir>/demo-accounts.json` for the development provider's sign-in picker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import OKPKey

from gateway_simulator.fleet import enrol_phones
from gateway_simulator.identity import GATEWAY_PRODUCT, PHONE_PRODUCT, FileStore, GatewayState, Phone
from shared.config import DEV_DIR, DEV_ISSUER
from shared.dev_issuer import issue_token, load_or_create_key

DEMO_ACCOUNTS_FILE = "demo-accounts.json"
SECOND_PHONE_PRODUCT = "PHONE-SIM-2"
TARIFFS: dict[str, dict[str, Any]] = {
    PHONE_PRODUCT: {"rate_per_day": "24", "licences": [{"type": "PORT", "count": 1}]},
    SECOND_PHONE_PRODUCT: {
        "rate_per_day": "36",
        "licences": [{"type": "PORT", "count": 1}, {"type": "VIDEO", "count": 1}],
    },
    GATEWAY_PRODUCT: {"rate_per_day": "10", "licences": [{"type": "PORT", "count": 4}]},
}
# The phone models of the demo's gateways, in order: Demo GmbH's three, then Kurz & Knapp's one.
GATEWAY_PHONE_PRODUCTS = (PHONE_PRODUCT, SECOND_PHONE_PRODUCT, PHONE_PRODUCT, PHONE_PRODUCT)
DEFAULT_URLS = {
    "wallet": "http://127.0.0.1:8001",
    "contracts": "http://127.0.0.1:8002",
    "provisioning": "http://127.0.0.1:8003",
    "licensing": "http://127.0.0.1:8004",
}


@dataclass(frozen=True)
class TenantPlan:
    name: str
    blurb: str
    domain: str
    credits: str  # iSC on the one key redeemed
    gateways: int
    phones: int  # enrolled
    rented: int


DEMO = TenantPlan(
    name="Demo GmbH",
    blurb="burning: 3 gateways online, 4 phones enrolled, 2 rented",
    domain="pbx.demo-gmbh.example",
    credits="5000",
    gateways=3,
    phones=4,
    rented=2,
)
NEAR_RUN_OUT = TenantPlan(
    name="Kurz & Knapp KG",
    blurb="near its run-out: 1 phone rented on a few minutes of credit",
    domain="pbx.kurz-knapp.example",
    credits="0.2",
    gateways=1,
    phones=1,
    rented=1,
)
PLANS = (DEMO, NEAR_RUN_OUT)


def demo_enabled(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """`make run DEMO=0` (RENTAL_DEMO=0, also "false", "no", "off") seeds nothing; anything else seeds."""
    return environ.get("RENTAL_DEMO", "1").strip().lower() not in {"0", "false", "no", "off"}


@dataclass
class SeededTenant:
    plan: TenantPlan
    account_id: str
    contract_id: str
    domain_id: str
    gateways: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    rented: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # what this run created (empty on a second run)


class SeedError(RuntimeError):
    pass


class Api:
    """The services' public HTTP APIs with development tokens, retrying `409 not_yet_known` for a while."""

    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str], key: OKPKey, issuer: str) -> None:
        self.client = client
        self.urls = urls
        self.key = key
        self.issuer = issuer

    def token(self, role: str, account_id: str | None = None) -> str:
        # The partner is the demo partner who signs in to the web app (partners see only the accounts they opened).
        subject = "demo-partner" if role == "partner" else f"demo-seed-{role}"
        return issue_token(
            self.key, roles=[role], account_id=account_id, subject=subject, issuer=self.issuer, ttl_s=600
        )

    def _headers(self, role: str, account_id: str | None, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(role, account_id)}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        role: str = "operator",
        account_id: str | None = None,
        body: object | None = None,
        params: dict[str, str] | None = None,
        ok: Sequence[int] = (200, 201),
        idempotency_key: str | None = None,
        within_s: float = 60.0,
    ) -> httpx.Response:
        deadline = time.monotonic() + within_s
        while True:
            response = await self.client.request(
                method,
                f"{self.urls[service]}/v1{path}",
                json=body,
                params=params,
                headers=self._headers(role, account_id, idempotency_key),
            )
            # Another service has not heard of the account or domain yet (its event is on the way): ask again.
            if response.status_code == 409 and _code(response) == "not_yet_known" and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                continue
            if response.status_code not in ok:
                raise SeedError(f"{method} {service} {path}: {response.status_code} {response.text[:400]}")
            return response

    async def load_credits(self, account_id: str, amount: str) -> None:
        """One key of `amount` iSC sold by the partner and redeemed by the account's customer."""
        batch = await self.call(
            "POST",
            "wallet",
            "/activation-keys",
            role="partner",
            body={"amount": amount, "count": 1},
            idempotency_key=str(uuid.uuid4()),
        )
        await self.call(
            "POST",
            "wallet",
            f"/accounts/{account_id}/redemptions",
            role="customer",
            account_id=account_id,
            body={"code": batch.json()["keys"][0]["code"]},
            idempotency_key=str(uuid.uuid4()),
        )

    async def items(self, service: str, path: str, *, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list (as the operator)."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = (await self.call("GET", service, path, params=query)).json()
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


async def wait_until_ready(
    client: httpx.AsyncClient,
    urls: dict[str, str],
    *,
    within_s: float = 120.0,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Every service answers /readyz (database and broker) before anything is asked of it."""
    deadline = time.monotonic() + within_s
    for name, url in urls.items():
        while True:
            if not alive():
                raise SeedError("the platform stopped before its services were ready")
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SeedError(f"{name} at {url} is not ready after {within_s:.0f} s")
            await asyncio.sleep(0.3)


def prepare_gateways(state_dir: Path) -> list[GatewayState]:
    """The simulated gateways' identities the demo registers (created once, kept; `init` would make the same)."""
    store = FileStore(state_dir)
    for phone_product in GATEWAY_PHONE_PRODUCTS[len(store.load_all()) :]:
        store.save(GatewayState.generate(phones=2, product=GATEWAY_PRODUCT, phone_product=phone_product))
    return store.load_all()


async def ensure_tariffs(api: Api) -> list[str]:
    created = []
    for product, tariff in TARIFFS.items():
        existing = await api.call("GET", "contracts", f"/tariffs/{product}", ok=(200, 404))
        if existing.status_code == 404:  # one an operator has set is left as it is
            await api.call("PUT", "contracts", f"/tariffs/{product}", body=tariff)
            created.append(f"tariff {product}")
    return created


async def find_accounts(api: Api, names: set[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The demo accounts already there, by name, each with its first contract (the account has no listing)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    contracts = sorted(await api.items("contracts", "/contracts"), key=lambda c: str(c["created_at"]))
    names_of: dict[str, str] = {}
    for contract in contracts:
        account_id = str(contract["account_id"])
        if account_id not in names_of:
            account = await api.call("GET", "wallet", f"/accounts/{account_id}", ok=(200, 404))
            names_of[account_id] = account.json().get("name", "") if account.status_code == 200 else ""
        name = names_of[account_id]
        if name in names and name not in found:
            found[name] = (account_id, contract)
    return found


async def seed_tenant(
    api: Api, plan: TenantPlan, existing: tuple[str, dict[str, Any]] | None, gateways: list[GatewayState]
) -> SeededTenant:
    """Every step of the tenant that is not there yet, in the order a customer takes them."""
    created: list[str] = []
    account_id, contract_id = await _approved_contract(api, plan, existing, created)
    await _credits_loaded(api, plan, account_id, created)
    domain_id = await _linked_domain(api, plan, account_id, contract_id, created)
    ours = await _registered_gateways(api, plan, domain_id, gateways, created)
    wanted = _phones_to_enrol(ours, plan.phones)
    await _phones_enrolled(api, account_id, domain_id, wanted, created)
    rented = await _phones_rented(api, plan, account_id, contract_id, wanted, created)
    return SeededTenant(
        plan=plan,
        account_id=account_id,
        contract_id=contract_id,
        domain_id=domain_id,
        gateways=[s.hwid for s in ours],
        phones=[p.hwid for p in wanted],
        rented=[str(h["hwid"]) for h in rented],
        created=created,
    )


async def _approved_contract(
    api: Api, plan: TenantPlan, existing: tuple[str, dict[str, Any]] | None, created: list[str]
) -> tuple[str, str]:
    """Account and contract, opened by the partner (the contract at once: it is how the tenant is found again),
    accepted by the customer and approved by the operator."""
    if existing is None:
        account_id = str(
            (await api.call("POST", "wallet", "/accounts", role="partner", body={"name": plan.name})).json()["id"]
        )
        created.append("account")
        contract = (
            await api.call("POST", "contracts", "/contracts", role="partner", body={"account_id": account_id})
        ).json()
        created.append("contract")
    else:
        account_id, contract = existing
    contract_id = str(contract["id"])
    if contract["status"] == "draft":
        contract = (
            await api.call(
                "POST", "contracts", f"/contracts/{contract_id}/acceptance", role="customer", account_id=account_id
            )
        ).json()
        created.append("acceptance")
    if contract["status"] == "pending_approval":
        await api.call("POST", "contracts", f"/contracts/{contract_id}/approval")
        created.append("approval")
    return account_id, contract_id


async def _credits_loaded(api: Api, plan: TenantPlan, account_id: str, created: list[str]) -> None:
    """One key sold by the partner and redeemed by the customer, unless a key was redeemed before."""
    ledger = await api.items("wallet", f"/accounts/{account_id}/ledger")
    if any(entry["kind"] == "redemption" for entry in ledger):
        return
    await api.load_credits(account_id, plan.credits)
    created.append(f"{plan.credits} iSC redeemed")


async def _linked_domain(api: Api, plan: TenantPlan, account_id: str, contract_id: str, created: list[str]) -> str:
    """The PBX domain, linked to the contract."""
    domains = await api.items("provisioning", "/domains", params={"account_id": account_id})
    domain = next((d for d in domains if d["name"] == plan.domain), None)
    if domain is None:
        domain = (
            await api.call(
                "POST",
                "provisioning",
                "/domains",
                role="customer",
                account_id=account_id,
                body={"account_id": account_id, "name": plan.domain},
            )
        ).json()
        created.append("domain")
    domain_id = str(domain["id"])
    contract = (await api.call("GET", "contracts", f"/contracts/{contract_id}")).json()
    if domain_id not in [str(d) for d in contract["domain_ids"]]:
        await api.call("POST", "contracts", f"/contracts/{contract_id}/domains", body={"domain_id": domain_id})
        created.append("domain link")
    return domain_id


async def _registered_gateways(
    api: Api, plan: TenantPlan, domain_id: str, gateways: list[GatewayState], created: list[str]
) -> list[GatewayState]:
    """The simulator's identities, registered with their public keys, up to the plan's number."""
    registered = {g["hwid"] for g in await api.items("provisioning", f"/domains/{domain_id}/gateways")}
    for state in _models_first(gateways):
        if len(registered) >= plan.gateways:
            break
        if state.hwid in registered:
            continue
        response = await api.call(
            "POST",
            "provisioning",
            f"/domains/{domain_id}/gateways",
            body={"hwid": state.hwid, "product": state.product, "public_key": state.public_key},
            ok=(200, 201, 409),  # 409: this identity is registered elsewhere; take the next one
        )
        if response.status_code == 201:
            registered.add(state.hwid)
            created.append(f"gateway {state.hwid}")
    return _models_first([s for s in gateways if s.hwid in registered])


async def _phones_enrolled(api: Api, account_id: str, domain_id: str, wanted: list[Phone], created: list[str]) -> None:
    """The registered gateways' phones enrol themselves with a provisioning code, as phones do."""
    enrolled = {d["hwid"] for d in await api.items("provisioning", f"/domains/{domain_id}/devices")}
    missing = [p for p in wanted if p.hwid not in enrolled]
    if not missing:
        return
    issued = await api.call(
        "POST",
        "provisioning",
        f"/domains/{domain_id}/provisioning-codes",
        role="customer",
        account_id=account_id,
        body={"max_uses": len(missing)},
    )
    await enrol_phones(
        missing, code=issued.json()["code"], provisioning_url=api.urls["provisioning"], client=api.client
    )
    created.extend(f"phone {p.hwid}" for p in missing)


async def _phones_rented(
    api: Api, plan: TenantPlan, account_id: str, contract_id: str, wanted: list[Phone], created: list[str]
) -> list[dict[str, Any]]:
    """The first phones of different models, once the contracts service lists them."""
    hardware = await _hardware_listing(api, contract_id, {p.hwid for p in wanted})
    rented = [h for h in hardware if h["rental_id"]]
    for item in _rent_next(hardware, plan.rented - len(rented)):
        await api.call(
            "POST",
            "contracts",
            f"/contracts/{contract_id}/rentals",
            role="customer",
            account_id=account_id,
            body={"device_id": item["device_id"]},
            idempotency_key=str(uuid.uuid4()),
        )
        rented.append(item)
        created.append(f"rental {item['hwid']}")
    return rented


def _phones_to_enrol(gateways: list[GatewayState], count: int) -> list[Phone]:
    phones = [p for g in gateways for p in g.phones]
    return phones[:count]


def _rent_next(hardware: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` rentable devices not rented yet, one of each model not rented yet first (two models burn)."""
    free = sorted((h for h in hardware if h["rentable"] and not h["rental_id"]), key=lambda h: str(h["hwid"]))
    products = {h["product"] for h in hardware if h["rental_id"]}
    chosen: list[dict[str, Any]] = []
    for item in free:
        if item["product"] not in products:
            products.add(item["product"])
            chosen.append(item)
    chosen += [item for item in free if item not in chosen]
    return chosen[: max(count, 0)]


def _models_first(gateways: Sequence[GatewayState]) -> list[GatewayState]:
    """One gateway of each phone model first, so a tenant's phones come in more than one model."""
    seen: set[str] = set()
    first: list[GatewayState] = []
    rest: list[GatewayState] = []
    for state in gateways:
        model = state.phones[0].product if state.phones else ""
        (rest if model in seen else first).append(state)
        seen.add(model)
    return first + rest


async def _hardware_listing(
    api: Api, contract_id: str, hwids: set[str], *, within_s: float = 60.0
) -> list[dict[str, Any]]:
    """The contract's hardware once it lists every enrolled phone (it learns of them from provisioning's events)."""
    deadline = time.monotonic() + within_s
    while True:
        items = await api.items("contracts", f"/contracts/{contract_id}/hardware")
        if hwids <= {str(i["hwid"]) for i in items}:
            return [i for i in items if str(i["hwid"]) in hwids]
        if time.monotonic() > deadline:
            raise SeedError(f"the contract's hardware does not list {sorted(hwids)} after {within_s:.0f} s")
        await asyncio.sleep(0.3)


def write_demo_accounts(dev_dir: Path, tenants: list[SeededTenant]) -> Path:
    """For the development provider's picker: sign in as a demo customer by name."""
    path = dev_dir / DEMO_ACCOUNTS_FILE
    entries = [{"name": t.plan.name, "account_id": t.account_id, "blurb": t.plan.blurb} for t in tenants]
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entries, indent=2) + "\n")
    tmp.replace(path)
    return path


async def seed(
    urls: dict[str, str],
    *,
    dev_dir: Path = DEV_DIR,
    issuer: str = DEV_ISSUER,
    state_dir: Path = DEV_DIR / "gateways",
    alive: Callable[[], bool] = lambda: True,
) -> list[SeededTenant]:
    key = load_or_create_key(dev_dir)
    gateways = prepare_gateways(state_dir)
    async with httpx.AsyncClient(timeout=20) as client:
        await wait_until_ready(client, urls, alive=alive)
        api = Api(client, urls, key, issuer)
        tariffs = await ensure_tariffs(api)
        existing = await find_accounts(api, {plan.name for plan in PLANS})
        tenants = []
        free = list(gateways)
        for plan in PLANS:
            tenant = await seed_tenant(api, plan, existing.get(plan.name), free)
            free = [g for g in free if g.hwid not in tenant.gateways]
            tenants.append(tenant)
        tenants[0].created[:0] = tariffs
    write_demo_accounts(dev_dir, tenants)
    return tenants


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}" + ("" if len(items) == 1 else "s")


def summary(tenants: list[SeededTenant], *, web_url: str = "http://127.0.0.1:8080") -> str:
    changed = [c for t in tenants for c in t.created]
    lines = [
        "Demo tenant " + (f"seeded ({len(changed)} things created)" if changed else "already there (nothing changed)"),
    ]
    for tenant in tenants:
        lines.append(
            f"  {tenant.plan.name:<16} account {tenant.account_id}: {_count(tenant.gateways, 'gateway')},"
            f" {_count(tenant.phones, 'phone')} enrolled, {len(tenant.rented)} rented"
            f" ({tenant.plan.blurb.split(':')[0]})"
        )
    lines += [
        "",
        f"What to try: open {web_url}, Sign in, then",
        f'  - pick "{tenants[0].plan.name}": the balance burns; the Licences tab shows the gateways online',
        "    and the bundle current;",
        f'  - pick "{tenants[-1].plan.name}": the run-out warning, then the rental stopping within minutes;',
        "  - as Paul Partner: open an account and its contract for a new customer, and sell it a key;",
        "    as Olivia Operator: approve that contract; as its customer (Account id in the picker): Get started",
        "    takes you through domain, gateway, provisioning code and rent. A new simulated gateway to paste:",
        "    .venv/bin/python -m gateway_simulator init --add 1   (make run's simulator picks it up)",
        "    and its phones enrol with: .venv/bin/python -m gateway_simulator enrol --code <code> --gateway <hwid>",
        "  - what each gateway lets run: .venv/bin/python -m gateway_simulator status",
        "  - make run DEMO=0 starts without seeding.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, url in DEFAULT_URLS.items():
        parser.add_argument(f"--{name}", default=url, help=f"{name} service URL")
    parser.add_argument("--dev-dir", type=Path, default=DEV_DIR, help="the development issuer's key directory")
    parser.add_argument("--issuer", default=DEV_ISSUER)
    parser.add_argument("--state-dir", type=Path, default=DEV_DIR / "gateways", help="the simulated gateways")
    args = parser.parse_args(argv)
    if not demo_enabled():
        print("DEMO=0: no demo tenant seeded")
        return
    urls = {name: getattr(args, name) for name in DEFAULT_URLS}
    tenants = asyncio.run(seed(urls, dev_dir=args.dev_dir, issuer=args.issuer, state_dir=args.state_dir))
    print(summary(tenants))


if __name__ == "__main__":
    main()
