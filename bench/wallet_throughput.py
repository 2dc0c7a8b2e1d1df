"""Wallet redemptions per second, next to a raw asyncpg transaction doing the same durable work.

- raw: one hand-written asyncpg transaction per redemption: the Idempotency-Key row, key and account locked,
  the key marked, the balance moved, the ledger entry with its two legs, one outbox row; at N clients and at 1
  (how far Postgres itself scales on this machine, beside the HTTP runs' scaling);
- raw + NOTIFY after commit: the same, then a notification sent on its own (the other way to wake relays of
  other replicas; the winner, a short poll, costs nothing per commit);
- wallet service layer: `service.redeem_activation_key` in this process;
- wallet over HTTP: a real wallet process (uvicorn, its relay, consumer and scheduler running) and an
  aiohttp client in this one: JWT check, validation, the use case, the answer; at 1 client and at N;
- rate changes: `service.apply_rental_change` inside an inbox transaction, as the consumer runs it, next to
  the same SQL sent raw.

Each client redeems into an account of its own. The sides take turns in `--rounds` rounds (each a share of
`--operations`), and each ratio is that of the round with the median ratio: on this machine the speed drifts by
a quarter within minutes, which a ratio of two sides measured minutes apart would show as theirs. Run:
`uv run python -m bench.wallet_throughput --operations 3200 --clients 16` (`make bench` runs it). Uses two
scratch databases on the local Postgres (the wallet process's, and the in-process sides') and a broker name
prefix of its own, removes them afterwards, and writes `bench/results/wallet_throughput.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiohttp
import asyncpg

from bench.results import Row, cpu_seconds, print_rows, ratio_row, save
from bench.scratch import ADMIN_URL, scratch_database
from shared.auth import Principal, Role
from shared.db import create_pool, transaction
from shared.dev_issuer import issue_token, load_or_create_key
from shared.logging import configure_logging
from shared.messaging.topology import DEAD_EXCHANGE, EVENTS_EXCHANGE, UNROUTED_EXCHANGE, Topology
from shared.runtime import apply_migrations
from tests.harness import eventually, free_port
from wallet import domain, service
from wallet.config import Settings
from wallet.main import SPEC

AMQP_URL = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
LIMITS = service.RedemptionLimits(failures_per_account=10, failures_per_client=20, window_s=900)
# Who calls the wallet's use cases in the service-layer runs: an operator may act on any account.
CLIENT = Principal(subject="bench", roles=frozenset({Role.OPERATOR}), account_id=None)
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
            principal=CLIENT,
            idempotency_key=uuid.uuid4().hex,
            codes_key=Settings().sealing_key,
            now=datetime.now(UTC),
        )
        codes += [key.code for key in batch.keys]
    return codes


async def open_accounts(pool: asyncpg.Pool, count: int) -> list[uuid.UUID]:
    accounts = []
    for i in range(count):
        account = await service.open_account(
            pool,
            principal=CLIENT,
            name=f"bench {i}",
            idempotency_key=None,
            ladder_s=domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S,
            now=datetime.now(UTC),
        )
        accounts.append(account.id)
    return accounts


# --- Redemptions ------------------------------------------------------------------------------------------


async def redeem_with_service(pool: asyncpg.Pool, account_id: uuid.UUID, code: str) -> None:
    await service.redeem_activation_key(
        pool,
        principal=CLIENT,
        account_id=account_id,
        code=code,
        idempotency_key=uuid.uuid4().hex,
        limits=LIMITS,
        ladder_s=domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S,
        now=datetime.now(UTC),
    )


async def redeem_raw(pool: asyncpg.Pool, account_id: uuid.UUID, code: str) -> None:
    """The durable work of a redemption, hand-written: what the wallet's own transaction is measured against."""
    now = datetime.now(UTC)
    digest = domain.code_hash(code.replace("-", ""))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO idempotency_record (scope, key, request_hash, status_code) VALUES ($1, $2, $3, 201)",
            f"redemption:{account_id}",
            uuid.uuid4().hex,
            digest.hex(),
        )
        key = await conn.fetchrow("SELECT id, amount FROM activation_key WHERE code_hash = $1 FOR UPDATE", digest)
        balance = await conn.fetchval("SELECT balance FROM account WHERE id = $1 FOR UPDATE", account_id)
        await conn.execute(
            "UPDATE activation_key SET status = 'redeemed', redeemed_into = $2, redeemed_at = $3 WHERE id = $1",
            key["id"],
            account_id,
            now,
        )
        balance += key["amount"]
        await conn.execute(
            "UPDATE account SET balance = $2, settled_at = $3, version = version + 1 WHERE id = $1",
            account_id,
            balance,
            now,
        )
        seq = await conn.fetchval(
            """INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at, key_id)
               VALUES ($1, $2, 'redemption', $3, $4, $5, $6) RETURNING seq""",
            uuid.uuid4(),
            account_id,
            key["amount"],
            balance,
            now,
            key["id"],
        )
        await conn.execute(
            """INSERT INTO ledger_line (entry_seq, book, amount)
               VALUES ($1, 'customer_wallet', $2), ($1, 'keys_issued', $3)""",
            seq,
            key["amount"],
            -key["amount"],
        )
        loaded = {"account_id": str(account_id), "amount": key["amount"], "key_id": str(key["id"])}
        await _outbox(conn, "wallet.credits_loaded", "CreditsLoaded", account_id, {**loaded, "balance_after": balance})


async def redeem_raw_then_notify(pool: asyncpg.Pool, account_id: uuid.UUID, code: str) -> None:
    """The rejected alternative for waking other replicas: a notification of its own after the commit."""
    await redeem_raw(pool, account_id, code)
    await pool.execute("SELECT pg_notify('wallet_outbox', '')")


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
            ladder_s=domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S,
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


@contextlib.asynccontextmanager
async def wallet_process(settings: Settings) -> AsyncIterator[tuple[str, int]]:
    """A real wallet (`python -m wallet`) on a free port, as an operator runs it; yields its base URL and pid."""
    port = free_port()
    env = {
        **os.environ,
        "WALLET_DATABASE_URL": settings.database_url,
        "WALLET_AMQP_URL": settings.amqp_url,
        "WALLET_BROKER_PREFIX": settings.broker_prefix,
        "WALLET_AUTH_JWKS_PATH": str(settings.auth_jwks_path),
        "WALLET_HTTP_PORT": str(port),
        "WALLET_DATABASE_POOL_MAX": str(settings.database_pool_max),
        "WALLET_TEST_CLOCK_FOLLOWERS": json.dumps(settings.test_clock_followers),
        "WALLET_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "wallet", env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base_url}/readyz") as response:
                        if response.status == 200:
                            break
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the wallet process did not become ready")
                await asyncio.sleep(0.1)
        yield base_url, process.pid
    finally:
        process.terminate()
        await process.wait()


@dataclass(frozen=True)
class HttpRun:
    per_s: float
    # CPU time per redemption, in ms: of the wallet process, and of this one (the load generator).
    wallet_cpu_ms: float
    client_cpu_ms: float


async def outbox_drained(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval("SELECT EXISTS (SELECT FROM outbox_message WHERE sent_at IS NULL)")


async def redemptions_over_http(
    base_url: str, wallet_pid: int, pool: asyncpg.Pool, clients: int, per_client: int, dev_dir: Path
) -> HttpRun:
    codes = await issue_codes(pool, clients * per_client)
    accounts = await open_accounts(pool, clients)
    key = load_or_create_key(dev_dir)
    tokens = [issue_token(key, roles=["customer"], account_id=str(a)) for a in accounts]
    # One connection per client, kept alive, as a client library would.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as http:

        async def redeem_one(client: int, i: int) -> None:
            async with http.post(
                f"{base_url}/v1/accounts/{accounts[client]}/redemptions",
                json={"code": codes[client * per_client + i]},
                headers={"Authorization": f"Bearer {tokens[client]}", "Idempotency-Key": uuid.uuid4().hex},
            ) as response:
                # Read to its end, as a client does: aiohttp closes a connection whose answer was left unread.
                answer = await response.read()
                if response.status != 201:
                    raise RuntimeError(f"redemption refused: {answer.decode()}")

        # Each timed run starts with the events of the set-up (and of the run before) relayed.
        await eventually(lambda: outbox_drained(pool), within=60, what="the wallet relayed its outbox")
        async with profiled(wallet_pid, f"wallet-{clients}-clients"):
            wallet_cpu, client_cpu = cpu_seconds(wallet_pid), time.process_time()
            per_s = await run_clients(clients, per_client, redeem_one)
            wallet_cpu, client_cpu = cpu_seconds(wallet_pid) - wallet_cpu, time.process_time() - client_cpu
    count = clients * per_client
    return HttpRun(per_s, 1000 * wallet_cpu / count, 1000 * client_cpu / count)


@contextlib.asynccontextmanager
async def profiled(pid: int, label: str) -> AsyncIterator[None]:
    """With `BENCH_PY_SPY=<path to py-spy>`: collapsed stacks of process `pid` while the block runs, written to
    `$BENCH_PY_SPY_DIR` (default the temporary directory) as `<label>.pyspy.txt`."""
    py_spy = os.environ.get("BENCH_PY_SPY")
    if not py_spy:
        yield
        return
    output = Path(os.environ.get("BENCH_PY_SPY_DIR", tempfile.gettempdir())) / f"{label}.pyspy.txt"
    # --gil: only samples holding the GIL, i.e. on CPU (uvloop releases it while it polls). More flags (e.g.
    # `--native`) with BENCH_PY_SPY_ARGS.
    flags = os.environ.get("BENCH_PY_SPY_ARGS", "--gil --nonblocking").split()
    profiler = await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(output),
        *flags,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # it exits at once on flags it refuses
            profiler.send_signal(signal.SIGINT)
        if await profiler.wait() == 0:
            print(f"py-spy: {output}", file=sys.stderr)
        else:
            print(f"py-spy failed ({profiler.returncode}): run it by hand with {flags}", file=sys.stderr)


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


@dataclass(frozen=True)
class Round:
    """One round's figures: each side measured once, back to back, so that a ratio compares two sides that ran
    within a minute of each other (this machine's speed drifts by a quarter over a few minutes)."""

    figures: dict[str, float]

    def ratio(self, value: str, baseline: str) -> float:
        return self.figures[value] / self.figures[baseline]


def middle_round(rounds: Sequence[Round], value: str, baseline: str) -> Round:
    """The round whose ratio of `value` to `baseline` is the median of all rounds'."""
    ranked = sorted(rounds, key=lambda r: r.ratio(value, baseline))
    return ranked[len(ranked) // 2]


async def measure(
    database: str, raw_database: str, operations: int, clients: int, rounds: int, dev_dir: Path
) -> tuple[list[Round], dict[str, float]]:
    """The redemption rounds, and the rate changes (measured once, after them)."""
    dsn = wallet_dsn(database)
    settings = Settings(
        database_url=dsn,
        amqp_url=AMQP_URL,
        broker_prefix=f"{database}.",
        auth_jwks_path=dev_dir / "jwks.json",
        auth_jwks_url=None,
        database_pool_max=clients + 4,
        log_level="WARNING",
    )
    await apply_migrations(SPEC, settings)
    raw_settings = settings.model_copy(update={"database_url": wallet_dsn(raw_database)})
    await apply_migrations(SPEC, raw_settings)
    # The in-process sides run on a database of their own: the wallet process never sees their outbox rows
    # (nor relays and handles them while another side is measured).
    raw_pool = await create_pool(dsn=raw_settings.database_url, schema="wallet", min_size=clients, max_size=clients + 2)
    pool = await create_pool(dsn=dsn, schema="wallet", min_size=2, max_size=4)
    per_client = operations // clients // rounds
    try:
        measured: list[Round] = []
        async with wallet_process(settings) as (base_url, pid):
            # Not counted: the wallet's pool grows to one connection per client, each preparing its statements,
            # as the raw side's pool does in its first round.
            await redemptions_over_http(base_url, pid, pool, clients, 5, dev_dir)
            for _ in range(rounds):
                figures: dict[str, float] = {}
                # Fresh keys and accounts for each side, so neither sees the other's rows locked.
                sides: tuple[tuple[str, Callable[[asyncpg.Pool, uuid.UUID, str], Awaitable[None]]], ...] = (
                    ("redemptions raw", redeem_raw),
                    ("redemptions raw + NOTIFY after commit", redeem_raw_then_notify),
                    ("redemptions wallet", redeem_with_service),
                )
                for label, redeem in sides:
                    figures[label] = await redemptions_in_process(raw_pool, redeem, clients, per_client)
                # One client alone on the raw side: how far raw asyncpg scales, beside the HTTP runs' scaling.
                figures["redemptions raw, 1 client"] = await redemptions_in_process(
                    raw_pool, redeem_raw, 1, max(50, per_client * 2)
                )
                many = await redemptions_over_http(base_url, pid, pool, clients, per_client, dev_dir)
                figures["redemptions wallet HTTP"] = many.per_s
                figures["wallet CPU per redemption"] = many.wallet_cpu_ms
                figures["client CPU per redemption"] = many.client_cpu_ms
                alone = await redemptions_over_http(base_url, pid, pool, 1, max(50, per_client * 2), dev_dir)
                figures["redemptions wallet HTTP, 1 client"] = alone.per_s
                measured.append(Round(figures))
        await delete_broker_objects(settings)
        return measured, await measure_rate_changes(raw_pool, clients, per_client * rounds)
    finally:
        await pool.close()
        await raw_pool.close()


async def redemptions_in_process(
    pool: asyncpg.Pool,
    redeem: Callable[[asyncpg.Pool, uuid.UUID, str], Awaitable[None]],
    clients: int,
    per_client: int,
) -> float:
    codes = await issue_codes(pool, clients * per_client)
    accounts = await open_accounts(pool, clients)

    async def redeem_one(client: int, i: int) -> None:
        await redeem(pool, accounts[client], codes[client * per_client + i])

    return await run_clients(clients, per_client, redeem_one)


async def measure_rate_changes(pool: asyncpg.Pool, clients: int, per_client: int) -> dict[str, float]:
    """Funded accounts, one contract each, the rate alternating between two values."""
    results: dict[str, float] = {}
    for label, change in (("rate changes raw", change_rate_raw), ("rate changes wallet", change_rate_with_service)):
        accounts = await open_accounts(pool, clients)
        codes = await issue_codes(pool, clients)
        for account_id, code in zip(accounts, codes, strict=True):
            await redeem_with_service(pool, account_id, code)
        contracts = [uuid.uuid4() for _ in range(clients)]

        async def change_one(
            client: int,
            i: int,
            change: Callable[[asyncpg.Pool, uuid.UUID, uuid.UUID, int], Awaitable[None]] = change,
            accounts: list[uuid.UUID] = accounts,
            contracts: list[uuid.UUID] = contracts,
        ) -> None:
            await change(pool, accounts[client], contracts[client], i)

        results[label] = await run_clients(clients, per_client, change_one)
    return results


def result_rows(rounds: Sequence[Round], rate_changes: dict[str, float], clients: int) -> list[Row]:
    """Each ratio from one round, the one with the median ratio; the figures beside it from the same round."""
    central = middle_round(rounds, "redemptions wallet HTTP", "redemptions raw")
    figures = central.figures
    raw = figures["redemptions raw"]
    scaling = middle_round(rounds, "redemptions wallet HTTP", "redemptions wallet HTTP, 1 client").figures
    return [
        Row(f"redemptions raw asyncpg, {clients} clients (baseline)", raw, "/s"),
        Row(
            f"redemptions raw + NOTIFY after commit, {clients} clients",
            figures["redemptions raw + NOTIFY after commit"],
            "/s",
            raw,
        ),
        Row(f"redemptions wallet service layer, {clients} clients", figures["redemptions wallet"], "/s", raw),
        ratio_row(
            f"redemptions wallet over HTTP, {clients} clients",
            figures["redemptions wallet HTTP"],
            "/s",
            baseline=raw,
            at_least=0.40,
        ),
        Row("redemptions raw asyncpg, 1 client", scaling["redemptions raw, 1 client"], "/s"),
        Row(
            "redemptions wallet over HTTP, 1 client",
            scaling["redemptions wallet HTTP, 1 client"],
            "/s",
            scaling["redemptions raw, 1 client"],
        ),
        Row(
            f"redemptions raw asyncpg, {clients} clients vs 1 client",
            scaling["redemptions raw"],
            "/s",
            scaling["redemptions raw, 1 client"],
        ),
        ratio_row(
            f"redemptions over HTTP, {clients} clients vs 1 client",
            scaling["redemptions wallet HTTP"],
            "/s",
            baseline=scaling["redemptions wallet HTTP, 1 client"],
            at_least=3.0,
            of="1 client",
        ),
        Row(f"wallet process CPU per redemption, {clients} clients", figures["wallet CPU per redemption"], "ms"),
        Row(f"load generator CPU per redemption, {clients} clients", figures["client CPU per redemption"], "ms"),
        Row(f"rate changes raw asyncpg, {clients} clients (baseline)", rate_changes["rate changes raw"], "/s"),
        Row(
            f"rate changes wallet inbox transaction, {clients} clients",
            rate_changes["rate changes wallet"],
            "/s",
            rate_changes["rate changes raw"],
        ),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--operations", type=int, default=3200, help="redemptions per side over all rounds, spread over the clients"
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="each side measured once per round, back to back")
    args = parser.parse_args()
    configure_logging(service="bench", level="WARNING", json=True)
    async with scratch_database("rental_bench_wallet") as database, scratch_database("rental_bench_raw") as raw:
        with tempfile.TemporaryDirectory() as dev_dir:
            load_or_create_key(Path(dev_dir))
            rounds, rate_changes = await measure(
                database, raw, args.operations, args.clients, args.rounds, Path(dev_dir)
            )
    for number, measured in enumerate(rounds, start=1):
        ratio = measured.ratio("redemptions wallet HTTP", "redemptions raw")
        scaling = measured.ratio("redemptions wallet HTTP", "redemptions wallet HTTP, 1 client")
        raw_scaling = measured.ratio("redemptions raw", "redemptions raw, 1 client")
        print(
            f"round {number}: HTTP/raw {ratio:.2f}x, {args.clients} clients/1 client {scaling:.2f}x"
            f" (raw {raw_scaling:.2f}x)"
        )
    rows = result_rows(rounds, rate_changes, args.clients)
    save(
        "wallet_throughput",
        rows,
        parameters={
            "operations": args.operations,
            "clients": args.clients,
            "rounds": [r.figures for r in rounds],
            "rate_changes": rate_changes,
        },
    )
    print_rows("wallet_throughput", rows)


if __name__ == "__main__":
    asyncio.run(main())
