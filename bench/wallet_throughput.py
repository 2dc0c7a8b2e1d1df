"""Wallet use cases per second at N concurrent clients, next to a raw asyncpg loop doing the same SQL.

- redemptions: `service.redeem_activation_key` (rate-limit checks, Idempotency-Key, key and account locked,
  ledger entry with its lines, runway and CreditsLoaded in the outbox), one key per call, each client into
  its own account;
- redemptions over HTTP: the same through the real app in-process (ASGI, JWT check, validation, problem
  mapping), with its full lifespan (outbox relay, consumer, scheduler) running against the local RabbitMQ;
- rate changes: `service.apply_rental_change` inside an inbox transaction, as the consumer runs it (settles
  usage into the ledger, publishes RunwayChanged), each client alternating the rate of its own contract.

The raw loops send the same statements in the same transactions with the values computed inline, so the
ratio is the cost of our layers (pydantic models, the domain, the repository functions), not of the SQL.

Run: `uv run python -m bench.wallet_throughput --operations 1600 --clients 16`. Uses a scratch database on
the local Postgres and a broker name prefix of its own, and removes the database afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx

from scripts.bootstrap_db import bootstrap
from shared.db import create_pool, transaction
from shared.dev_issuer import issue_token, load_or_create_key
from shared.logging import configure_logging
from shared.messaging.topology import DEAD_EXCHANGE, EVENTS_EXCHANGE, UNROUTED_EXCHANGE, Topology
from shared.runtime import apply_migrations, create_app
from wallet import domain, service
from wallet.config import Settings
from wallet.main import SPEC

ADMIN_URL = os.environ.get("RENTAL_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
LIMITS = service.RedemptionLimits(failures_per_account=10, failures_per_client=20, window_s=900)
KEY_AMOUNT = 10_000_000
RATES = (86_400_000_000, 43_200_000_000)  # 1 and 0.5 iSC per second, in micro-iSC per day
MICROSECONDS_PER_DAY = 86_400 * 1_000_000
_MICROSECOND = timedelta(microseconds=1)


def wallet_dsn(database: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(("postgresql", f"wallet:wallet@{parts.hostname}:{parts.port or 5432}", f"/{database}", "", ""))


async def run_clients(clients: int, per_client: int, work: Callable[[int, int], Awaitable[None]]) -> float:
    """Operations per second of `clients` concurrent loops, each doing `per_client` operations."""

    async def loop(client: int) -> None:
        for i in range(per_client):
            await work(client, i)

    started = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in range(clients)))
    return clients * per_client / (time.perf_counter() - started)


async def issue_codes(pool: asyncpg.Pool, count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        batch = await service.issue_key_batch(
            pool,
            amount=KEY_AMOUNT,
            count=min(1000, count - len(codes)),
            issued_by="bench",
            idempotency_key=uuid.uuid4().hex,
            now=datetime.now(UTC),
        )
        codes += [key.code for key in batch.keys]
    return codes


async def open_accounts(pool: asyncpg.Pool, count: int) -> list[uuid.UUID]:
    accounts = []
    for i in range(count):
        account = await service.open_account(pool, name=f"bench {i}", opened_by="bench", now=datetime.now(UTC))
        accounts.append(account.id)
    return accounts


# --- Redemptions ------------------------------------------------------------------------------------------


async def redeem_with_service(pool: asyncpg.Pool, account_id: uuid.UUID, code: str) -> None:
    await service.redeem_activation_key(
        pool,
        account_id=account_id,
        code=code,
        client="bench",
        idempotency_key=uuid.uuid4().hex,
        limits=LIMITS,
        now=datetime.now(UTC),
    )


async def redeem_raw(pool: asyncpg.Pool, account_id: uuid.UUID, code: str) -> None:
    """The statements `redeem_activation_key` sends, for an account that does not burn."""
    now = datetime.now(UTC)
    canonical = code.replace("-", "")
    digest = domain.code_hash(canonical)
    window = datetime.fromtimestamp(int(now.timestamp()) // 900 * 900, tz=UTC)
    await pool.fetchval("SELECT EXISTS (SELECT 1 FROM account WHERE id = $1)", account_id)
    for bucket in (f"redeem-failures:account:{account_id}", "redeem-failures:client:bench"):
        await pool.fetchval(
            "SELECT hits FROM rate_limit_counter WHERE bucket = $1 AND window_start = $2", bucket, window
        )
    scope, idem_key = f"redemption:{account_id}", uuid.uuid4().hex
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchval(
            """INSERT INTO idempotency_record (scope, key, request_hash) VALUES ($1, $2, $3)
               ON CONFLICT (scope, key) DO NOTHING RETURNING true""",
            scope,
            idem_key,
            digest.hex(),
        )
        key = await conn.fetchrow(
            "SELECT id, amount, status FROM activation_key WHERE code_hash = $1 FOR UPDATE", digest
        )
        account = await conn.fetchrow(
            """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted,
                      depletes_at, low_warned_threshold_s, low_check_at, version
               FROM account WHERE id = $1 FOR UPDATE""",
            account_id,
        )
        balance, version = account["balance"] + key["amount"], account["version"] + 1
        seq = await conn.fetchval(
            """INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at, key_id, period_start,
                                         period_end, note)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq""",
            uuid.uuid4(),
            account_id,
            "redemption",
            key["amount"],
            balance,
            now,
            key["id"],
            None,
            None,
            None,
        )
        await conn.execute(
            """INSERT INTO ledger_line (entry_seq, book, amount)
               SELECT $1, book, amount FROM unnest($2::text[], $3::bigint[]) AS line (book, amount)""",
            seq,
            ["customer_wallet", "keys_issued"],
            [key["amount"], -key["amount"]],
        )
        await conn.execute(
            """UPDATE activation_key SET status = 'redeemed', redeemed_into = $2, redeemed_at = $3
               WHERE id = $1 AND status = 'issued'""",
            key["id"],
            account_id,
            now,
        )
        await conn.execute(
            """UPDATE account SET balance = $2, burn_rate_per_day = $3, settled_at = $4, segment_start = $5,
                      segment_used = $6, depleted = $7, depletes_at = $8, version = $9, low_check_at = $10
               WHERE id = $1""",
            account_id,
            balance,
            0,
            now,
            now,
            0,
            False,
            None,
            version,
            now,
        )
        runway = {"account_id": str(account_id), "balance": balance, "burn_rate_per_day": 0, "depletes_at": None}
        await _outbox(conn, "wallet.runway_changed", "RunwayChanged", account_id, {**runway, "version": version})
        loaded = {"account_id": str(account_id), "amount": key["amount"], "key_id": str(key["id"])}
        await _outbox(conn, "wallet.credits_loaded", "CreditsLoaded", account_id, {**loaded, "balance_after": balance})
        await conn.execute(
            "UPDATE idempotency_record SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2",
            scope,
            idem_key,
            201,
            {"key_id": str(key["id"]), "amount": "10", "balance": str(balance), "depletes_at": None},
        )


async def _outbox(
    conn: asyncpg.Connection, routing_key: str, event_type: str, account_id: uuid.UUID, payload: dict[str, object]
) -> None:
    await conn.execute(
        """INSERT INTO outbox_message (id, routing_key, event_type, subject, payload, traceparent)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        uuid.uuid4(),
        routing_key,
        event_type,
        str(account_id),
        payload,
        None,
    )


# --- Rate changes -----------------------------------------------------------------------------------------


async def change_rate_with_service(pool: asyncpg.Pool, account_id: uuid.UUID, contract_id: uuid.UUID, i: int) -> None:
    async with transaction(pool) as conn:
        await _inbox(conn)
        await service.apply_rental_change(
            conn,
            account_id=account_id,
            contract_id=contract_id,
            burn_rate_per_day=RATES[i % 2],
            version=i + 1,
            changed_at=datetime.now(UTC),
            now=datetime.now(UTC),
        )


async def change_rate_raw(pool: asyncpg.Pool, account_id: uuid.UUID, contract_id: uuid.UUID, i: int) -> None:
    """The statements `apply_rental_change` sends when the rate changes and usage is due."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        await _inbox(conn)
        account = await conn.fetchrow(
            """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted,
                      depletes_at, low_warned_threshold_s, low_check_at, version
               FROM account WHERE id = $1 FOR UPDATE""",
            account_id,
        )
        await conn.fetchval(
            """INSERT INTO contract_rate (contract_id, account_id, burn_rate_per_day, version, applied_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (contract_id) DO UPDATE
                   SET burn_rate_per_day = EXCLUDED.burn_rate_per_day, version = EXCLUDED.version,
                       applied_at = EXCLUDED.applied_at
                   WHERE contract_rate.version < EXCLUDED.version AND contract_rate.account_id = EXCLUDED.account_id
               RETURNING true""",
            contract_id,
            account_id,
            RATES[i % 2],
            i + 1,
            now,
        )
        rate = int(
            await conn.fetchval(
                "SELECT coalesce(sum(burn_rate_per_day), 0) FROM contract_rate WHERE account_id = $1", account_id
            )
        )
        elapsed_us = (now - account["segment_start"]) // _MICROSECOND
        owed = -(-account["burn_rate_per_day"] * elapsed_us // MICROSECONDS_PER_DAY) - account["segment_used"]
        usage = min(account["balance"], max(0, owed))
        balance = account["balance"] - usage
        if usage:
            seq = await conn.fetchval(
                """INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at, key_id, period_start,
                                             period_end, note)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq""",
                uuid.uuid4(),
                account_id,
                "usage",
                -usage,
                balance,
                now,
                None,
                account["settled_at"],
                now,
                None,
            )
            await conn.execute(
                """INSERT INTO ledger_line (entry_seq, book, amount)
                   SELECT $1, book, amount FROM unnest($2::text[], $3::bigint[]) AS line (book, amount)""",
                seq,
                ["customer_wallet", "usage_earned"],
                [-usage, usage],
            )
        version = account["version"] + 1
        await conn.execute(
            """UPDATE account SET balance = $2, burn_rate_per_day = $3, settled_at = $4, segment_start = $5,
                      segment_used = $6, depleted = $7, depletes_at = $8, version = $9, low_check_at = $10
               WHERE id = $1""",
            account_id,
            balance,
            rate,
            now,
            now,
            0,
            False,
            None,
            version,
            now,
        )
        runway = {"account_id": str(account_id), "balance": balance, "burn_rate_per_day": rate, "version": version}
        await _outbox(conn, "wallet.runway_changed", "RunwayChanged", account_id, runway)


async def _inbox(conn: asyncpg.Connection) -> None:
    await conn.fetchval(
        """INSERT INTO inbox_message (consumer, message_id, event_type) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        "wallet.events",
        uuid.uuid4().hex,
        "contracts.rental_changed",
    )


# --- The run ----------------------------------------------------------------------------------------------


async def redemptions_over_http(
    settings: Settings, pool: asyncpg.Pool, clients: int, per_client: int, dev_dir: Path
) -> float:
    codes = await issue_codes(pool, clients * per_client)
    accounts = await open_accounts(pool, clients)
    key = load_or_create_key(dev_dir)
    tokens = [issue_token(key, roles=["customer"], account_id=str(a)) for a in accounts]
    app = create_app(SPEC, settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wallet") as http,
    ):

        async def redeem_one(client: int, i: int) -> None:
            response = await http.post(
                f"/v1/accounts/{accounts[client]}/redemptions",
                json={"code": codes[client * per_client + i]},
                headers={"Authorization": f"Bearer {tokens[client]}", "Idempotency-Key": uuid.uuid4().hex},
            )
            if response.status_code != 201:
                raise RuntimeError(f"redemption refused: {response.text}")

        return await run_clients(clients, per_client, redeem_one)


async def delete_broker_objects(settings: Settings) -> None:
    """Quorum queues cost the broker memory: remove what the in-process wallet declared."""
    topology = Topology(prefix=settings.broker_prefix)
    queue = f"{SPEC.name}.events"
    queues = [
        topology.name(queue),
        topology.dead_queue_name(queue),
        topology.name(UNROUTED_EXCHANGE),
        *(topology.retry_queue_name(queue, delay) for delay in settings.consumer_retry_delays_s),
    ]
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        for name in queues:
            await channel.queue_delete(name)
        for name in (EVENTS_EXCHANGE, DEAD_EXCHANGE, UNROUTED_EXCHANGE):
            await channel.exchange_delete(topology.name(name))
    finally:
        await connection.close()


async def measure(database: str, operations: int, clients: int, dev_dir: Path) -> dict[str, float]:
    dsn = wallet_dsn(database)
    settings = Settings(
        database_url=dsn,
        amqp_url=AMQP_URL,
        broker_prefix=f"{database}.",
        auth_jwks_path=dev_dir / "jwks.json",
        auth_jwks_url=None,
        database_pool_max=clients + 2,
        log_level="WARNING",
    )
    await apply_migrations(SPEC, settings)
    pool = await create_pool(dsn=dsn, schema="wallet", min_size=clients, max_size=clients + 2)
    per_client = operations // clients
    try:
        results: dict[str, float] = {}
        # Redemptions: fresh keys and accounts for each side, so neither sees the other's rows locked.
        for label, redeem in (("redemptions raw", redeem_raw), ("redemptions wallet", redeem_with_service)):
            codes = await issue_codes(pool, clients * per_client)
            accounts = await open_accounts(pool, clients)

            async def redeem_one(client: int, i: int, redeem=redeem, codes=codes, accounts=accounts) -> None:
                await redeem(pool, accounts[client], codes[client * per_client + i])

            results[label] = await run_clients(clients, per_client, redeem_one)
        try:
            results["redemptions wallet HTTP"] = await redemptions_over_http(
                settings, pool, clients, per_client, dev_dir
            )
        finally:
            await delete_broker_objects(settings)

        # Rate changes: funded accounts, one contract each, the rate alternating between two values.
        for label, change in (("rate changes raw", change_rate_raw), ("rate changes wallet", change_rate_with_service)):
            accounts = await open_accounts(pool, clients)
            codes = await issue_codes(pool, clients)
            for account_id, code in zip(accounts, codes, strict=True):
                await redeem_with_service(pool, account_id, code)
            contracts = [uuid.uuid4() for _ in range(clients)]

            async def change_one(client: int, i: int, change=change, accounts=accounts, contracts=contracts) -> None:
                await change(pool, accounts[client], contracts[client], i)

            results[label] = await run_clients(clients, per_client, change_one)
        return results
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--operations", type=int, default=2000, help="per measurement, spread over the clients")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    configure_logging(service="bench", level="WARNING", json=True)
    database = f"rental_bench_wallet_{uuid.uuid4().hex[:8]}"
    await bootstrap(admin_url=ADMIN_URL, database=database)
    try:
        with tempfile.TemporaryDirectory() as dev_dir:
            load_or_create_key(Path(dev_dir))
            results = await measure(database, args.operations, args.clients, Path(dev_dir))
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    print(f"operations per measurement: {args.operations}, concurrent clients: {args.clients}")
    for kind in ("redemptions", "rate changes"):
        raw, ours = results[f"{kind} raw"], results[f"{kind} wallet"]
        print(f"{kind:<13} raw asyncpg, same SQL : {raw:8.0f} /s  (baseline)")
        print(f"{kind:<13} wallet service layer  : {ours:8.0f} /s  ({ours / raw:.2f} x raw)")
        if f"{kind} wallet HTTP" in results:
            http = results[f"{kind} wallet HTTP"]
            print(f"{kind:<13} wallet HTTP API       : {http:8.0f} /s  ({http / raw:.2f} x raw)")


if __name__ == "__main__":
    asyncio.run(main())
