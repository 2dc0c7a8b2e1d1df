"""Advancing a test clock with every service following it: 100 accounts, each renting a phone behind a sandbox
gateway, moved seven weeks in one call, next to the same number of raw transactions.

- the advance: the four services as their own processes on a scratch database (`bench.fleet`'s platform). Each
  account is set up through the public APIs as a partner and its customer would: opened on the clock, a domain, an
  approved contract, a gateway registered and its phone enrolled, a key of 3,000 + 15 i iSC redeemed and the phone
  rented at 100 iSC a day (run-outs on days 30 to 45). The gateways run in this process and follow the clock. Then
  one `POST /v1/test-clocks/{id}/advance` by seven weeks, and `GET` polled until `ready`: the wallet's settlements,
  warnings and run-outs, the distributor's lease renewals and stopped bundles, each service caught up at each step.
  Afterwards every gateway is checked to have stopped its phone at its account's run-out, to the second;
- raw: as many hand-written asyncpg transactions as the advance did units of work (ledger entries, warnings and
  bundles signed), each of the wallet's shape (`bench.clock_advance.raw_transactions`).

Run: `uv run python -m bench.clock_platform --accounts 100` (`make bench` runs it). Writes
`bench/results/clock_platform.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog

from bench.clock_advance import raw_transactions
from bench.fleet import AMQP_URL, Platform, start_platform, stop_platform
from bench.results import Row, print_rows, save
from bench.scratch import scratch_database
from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from shared.db import create_pool
from shared.dev_issuer import load_or_create_key
from tests.harness import delete_prefixed_broker_objects, eventually

START = datetime(2027, 3, 1, tzinfo=UTC)
SEVEN_WEEKS = timedelta(weeks=7)
PRODUCT = "PHONE-CLOCK-BENCH"
RATE_PER_DAY_ISC = 100
# Requests in flight while setting up the accounts.
CONCURRENCY = 8


class Api:
    """The platform's public APIs with the bench's tokens; retries while another service has not heard yet."""

    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform = platform
        self.http = http

    async def call(
        self, service: str, method: str, path: str, *, role: str, account_id: str | None = None, body: object = None
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.platform.token(role, account_id)}",
            "Idempotency-Key": uuid.uuid4().hex,
        }

        async def attempt() -> httpx.Response:
            return await self.http.request(
                method, f"{self.platform.urls[service]}/v1{path}", json=body, headers=headers
            )

        response = await eventually(
            attempt,
            until=lambda r: not (r.status_code == 409 and r.json().get("code") in ("not_yet_known", "no_credit")),
            within=60,
            every=0.1,
            what=f"{method} {path}",
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer


async def renting_account(api: Api, clock_id: str, i: int) -> tuple[str, GatewayState]:
    """Account i on the clock, renting one phone behind a registered gateway: (account id, the gateway)."""
    account = await api.call(
        "wallet", "POST", "/accounts", role="partner", body={"name": f"clocked {i}", "test_clock_id": clock_id}
    )
    account_id = str(account["id"])
    domain = await api.call(
        "provisioning", "POST", "/domains", role="partner", body={"account_id": account_id, "name": f"bench-{i}"}
    )
    contract = await api.call("contracts", "POST", "/contracts", role="partner", body={"account_id": account_id})
    contract_path = f"/contracts/{contract['id']}"
    await api.call(
        "contracts",
        "POST",
        f"{contract_path}/domains",
        role="customer",
        account_id=account_id,
        body={"domain_id": domain["id"]},
    )
    await api.call("contracts", "POST", f"{contract_path}/acceptance", role="customer", account_id=account_id)
    await api.call("contracts", "POST", f"{contract_path}/approval", role="operator")
    gateway = GatewayState.generate(phones=1, phone_product=PRODUCT)
    await api.call(
        "provisioning",
        "POST",
        f"/domains/{domain['id']}/gateways",
        role="partner",
        body={"hwid": gateway.hwid, "product": gateway.product, "public_key": gateway.public_key},
    )
    code = await api.call(
        "provisioning", "POST", f"/domains/{domain['id']}/provisioning-codes", role="customer", account_id=account_id
    )
    phone = gateway.phones[0]
    device = await api.call(
        "provisioning",
        "POST",
        "/provisioning",
        role="customer",
        body={"code": code["code"], "hwid": phone.hwid, "product": PRODUCT, "type": "PHONE"},
    )
    keys = await api.call(
        "wallet", "POST", "/activation-keys", role="partner", body={"amount": str(3_000 + 15 * i), "count": 1}
    )
    await api.call(
        "wallet",
        "POST",
        f"/accounts/{account_id}/redemptions",
        role="customer",
        account_id=account_id,
        body={"code": keys["keys"][0]["code"]},
    )
    await api.call(
        "contracts",
        "POST",
        f"{contract_path}/rentals",
        role="customer",
        account_id=account_id,
        body={"device_id": device["id"]},
    )
    return account_id, gateway


async def clock_ready(api: Api, clock_id: str) -> dict[str, Any]:
    return await eventually(
        lambda: api.call("wallet", "GET", f"/test-clocks/{clock_id}", role="partner"),
        until=lambda c: c["status"] == "ready",
        within=900,
        every=0.05,
        what="the clock ready",
    )


async def measure(platform: Platform, accounts: int) -> list[Row]:
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        api = Api(platform, http)
        await api.call(
            "contracts",
            "PUT",
            f"/tariffs/{PRODUCT}",
            role="operator",
            body={"rate_per_day": str(RATE_PER_DAY_ISC), "licences": [{"type": "PORT", "count": 1}]},
        )
        clock = await api.call(
            "wallet", "POST", "/test-clocks", role="partner", body={"name": "bench", "frozen_time": START.isoformat()}
        )
        clock_id = str(clock["id"])
        set_up = time.perf_counter()
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> tuple[str, GatewayState]:
            async with slots:
                return await renting_account(api, clock_id, i)

        tenants = await asyncio.gather(*(one(i) for i in range(accounts)))
        distributor = platform.urls["license-distributor"]
        jwks = JwksCache(url=f"{distributor}/.well-known/jwks.json", client=http)
        gateways = [
            SimulatedGateway(
                state=state,
                store=MemoryStore(),
                distributor_url=distributor,
                jwks=jwks,
                follow_test_clock=True,
                backoff_base_s=0.1,
                backoff_cap_s=1.0,
            )
            for _, state in tenants
        ]
        runs = [asyncio.create_task(g.run()) for g in gateways]
        for gateway in gateways:
            stack.callback(gateway.shut_down)
        stack.push_async_callback(_cancelled, runs)
        await eventually(
            lambda: _ready(sum(len(g.phones_running()) for g in gateways)),
            until=lambda n: n == accounts,
            within=120,
            what="every phone running",
        )
        set_up_s = time.perf_counter() - set_up
        db = await stack.enter_async_context(_admin(platform))
        bundles_before = int(await db.fetchval("SELECT count(*) FROM licensing.bundle"))

        started = time.perf_counter()
        await api.call(
            "wallet",
            "POST",
            f"/test-clocks/{clock_id}/advance",
            role="partner",
            body={"to": (START + SEVEN_WEEKS).isoformat()},
        )
        await clock_ready(api, clock_id)
        advance_s = time.perf_counter() - started

        stopped = await _stopped_at_the_run_out(db, tenants, gateways)
        done = await _work_done(db, uuid.UUID(clock_id))
        bundles = int(await db.fetchval("SELECT count(*) FROM licensing.bundle")) - bundles_before
        units = done["usage_entries"] + done["warnings"] + bundles
        pool = await create_pool(
            dsn=f"postgresql://wallet:wallet@127.0.0.1:5432/{platform.database}", schema="wallet", max_size=2
        )
        try:
            raw_per_s = await raw_transactions(pool, units)
        finally:
            await pool.close()
    return [
        Row(f"set-up: {accounts} accounts on a clock, renting behind sandbox gateways", set_up_s, "s"),
        Row(f"advance by 7 weeks -> ready, every service following, {accounts} accounts", advance_s, "s"),
        Row("gateways that stopped their phone at the run-out, to the second", stopped, "gateways"),
        Row("settlements and run-outs booked", done["usage_entries"], "entries"),
        Row("warnings announced", done["warnings"], "events"),
        Row("bundles signed (lease renewals, stops)", bundles, "bundles"),
        Row("steps of the clock (announced instants)", done["steps"], "steps"),
        Row("units of work per second in the advance", units / advance_s, "/s", raw_per_s),
        Row("raw asyncpg transactions of the wallet's shape, one at a time (baseline)", raw_per_s, "/s"),
    ]


async def _stopped_at_the_run_out(
    db: asyncpg.Connection, tenants: list[tuple[str, GatewayState]], gateways: list[SimulatedGateway]
) -> int:
    """Gateways whose phone stopped at their account's run-out (the bundle's `exp`, whole seconds); all must."""
    # The instant of each run-out, as booked (a depleted account's `depletes_at` is cleared).
    run_outs = {
        str(r["account_id"]): r["at"]
        for r in await db.fetch(
            """SELECT account_id, max(at) AS at FROM wallet.ledger_entry
               WHERE account_id = ANY($1::uuid[]) AND kind = 'usage' AND balance_after = 0 GROUP BY account_id""",
            [uuid.UUID(a) for a, _ in tenants],
        )
    }
    stopped = 0
    for (account_id, _), gateway in zip(tenants, gateways, strict=True):
        await _phones_stopped(gateway)
        end = gateway.stats.runs[-1].end
        run_out = run_outs.get(account_id)
        if end is not None and run_out is not None and end == run_out.replace(microsecond=0):
            stopped += 1
    if stopped != len(gateways):
        raise RuntimeError(f"only {stopped} of {len(gateways)} gateways stopped at their run-out")
    return stopped


async def _phones_stopped(gateway: SimulatedGateway) -> None:
    await eventually(lambda: _ready(gateway.phones_running()), until=lambda p: p == [], within=30)


async def _work_done(db: asyncpg.Connection, clock_id: uuid.UUID) -> dict[str, int]:
    row = await db.fetchrow(
        """SELECT
             (SELECT count(*) FROM wallet.ledger_entry e JOIN wallet.account a ON a.id = e.account_id
               WHERE a.test_clock_id = $1 AND e.kind = 'usage') AS usage_entries,
             (SELECT count(*) FROM wallet.outbox_message m JOIN wallet.account a ON a.id::text = m.subject
               WHERE a.test_clock_id = $1 AND m.routing_key = 'wallet.balance_low') AS warnings,
             (SELECT count(*) FROM wallet.outbox_message
               WHERE subject = $1::text AND routing_key = 'wallet.test_clock_advanced') AS steps""",
        clock_id,
    )
    assert row is not None
    return {name: int(row[name]) for name in ("usage_entries", "warnings", "steps")}


class _admin:
    """An admin connection to the run's database, closed at the end."""

    def __init__(self, platform: Platform) -> None:
        self.url = platform.database_admin_url
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await asyncpg.connect(self.url)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        if self.conn is not None:
            await self.conn.close()


async def _ready(value: Any) -> Any:
    return value


async def _cancelled(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100)
    args = parser.parse_args()
    # A hundred simulated gateways: their info lines would drown the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="bench-clock-") as work:
        async with scratch_database("rental_bench_clock_platform") as database:
            platform = Platform(
                database=database, prefix=f"bench-{run_id}.", dev_dir=Path(work) / "dev", log_dir=Path(work)
            )
            load_or_create_key(platform.dev_dir)
            try:
                await start_platform(platform)
                rows = await measure(platform, args.accounts)
            finally:
                await stop_platform(platform)
                await delete_prefixed_broker_objects(AMQP_URL, platform.prefix)
    save("clock_platform", rows, parameters={"accounts": args.accounts})
    print_rows("clock_platform", rows)


if __name__ == "__main__":
    asyncio.run(main())
