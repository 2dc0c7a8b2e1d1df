"""Advancing a test clock with 100 renting accounts by seven weeks, next to the same number of raw transactions.

- the advance: a real wallet process (`python -m wallet`, its test-clock job running); the accounts are opened on
  the clock, funded and given their rates through the wallet's use cases in this process, then one
  `POST /v1/test-clocks/{id}/advance` over HTTP, and `GET` polled until the clock is `ready`. Every account runs
  out within the seven weeks, each on its own day, after its daily settlements and its warnings;
- raw: as many hand-written asyncpg transactions as the advance did units of work (ledger entries and warnings),
  each locking an account, moving its balance and writing a ledger entry.

Run: `uv run python -m bench.clock_advance --accounts 100` (`make bench` runs it). Uses a scratch database
on the local Postgres and a broker prefix of its own, removes both afterwards, and writes
`bench/results/clock_advance.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench.results import Row, print_rows, save
from bench.scratch import scratch_database
from bench.wallet_throughput import (
    AMQP_URL,
    CLIENT,
    LIMITS,
    delete_broker_objects,
    wallet_dsn,
    wallet_process,
)
from shared.db import create_pool, transaction
from shared.dev_issuer import issue_token, load_or_create_key
from shared.logging import configure_logging
from shared.money import MICRO_PER_ISC
from shared.runtime import apply_migrations
from tests.harness import eventually
from wallet import clocks, domain, service
from wallet.config import Settings
from wallet.main import SPEC

START = datetime(2027, 3, 1, tzinfo=UTC)
SEVEN_WEEKS = timedelta(weeks=7)
RATE_PER_DAY = 100 * MICRO_PER_ISC


async def clocked_accounts(pool: asyncpg.Pool, count: int) -> uuid.UUID:
    """A clock at START with `count` accounts renting at 100 iSC a day; account i holds 3,000 + 15 i iSC, so the
    run-outs fall on days 30 to 45 of the seven weeks."""
    clock = await clocks.create_clock(
        pool, principal=CLIENT, name="bench", frozen_time=START, idempotency_key=None, now=datetime.now(UTC)
    )
    codes: list[str] = []
    for i in range(count):
        batch = await service.issue_key_batch(
            pool,
            amount=(3_000 + 15 * i) * MICRO_PER_ISC,
            count=1,
            principal=CLIENT,
            idempotency_key=uuid.uuid4().hex,
            codes_key=Settings().sealing_key,
            now=datetime.now(UTC),
        )
        codes.append(batch.keys[0].code)
    for i, code in enumerate(codes):
        account = await service.open_account(
            pool,
            principal=CLIENT,
            name=f"clocked {i}",
            idempotency_key=None,
            ladder_s=domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S,
            now=datetime.now(UTC),
            test_clock_id=clock.id,
        )
        await service.redeem_activation_key(
            pool,
            principal=CLIENT,
            account_id=account.id,
            code=code,
            idempotency_key=uuid.uuid4().hex,
            limits=LIMITS,
            ladder_s=domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S,
            now=START,
        )
        async with transaction(pool) as conn:
            await service.apply_rental_change(
                conn,
                account_id=account.id,
                contract_id=uuid.uuid4(),
                burn_rate_per_day=RATE_PER_DAY,
                version=1,
                changed_at=START,
                ladder_s=domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S,
                now=START,
            )
    return clock.id


async def advance_over_http(base_url: str, token: str, clock_id: uuid.UUID) -> float:
    """Seconds from the advance's request until the clock reads `ready`."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        started = time.perf_counter()
        asked = await http.post(
            f"/v1/test-clocks/{clock_id}/advance",
            json={"to": (START + SEVEN_WEEKS).isoformat()},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        asked.raise_for_status()

        async def clock() -> dict[str, object]:
            read: dict[str, object] = (await http.get(f"/v1/test-clocks/{clock_id}", headers=headers)).json()
            return read

        await eventually(clock, until=lambda c: c["status"] == "ready", within=600, what="the clock ready")
        return time.perf_counter() - started


async def work_done(pool: asyncpg.Pool, clock_id: uuid.UUID) -> dict[str, int]:
    """What the advance booked and announced for the clock's accounts."""
    row = await pool.fetchrow(
        """SELECT
             (SELECT count(*) FROM ledger_entry e JOIN account a ON a.id = e.account_id
               WHERE a.test_clock_id = $1 AND e.kind = 'usage') AS usage_entries,
             (SELECT count(*) FROM outbox_message m JOIN account a ON a.id::text = m.subject
               WHERE a.test_clock_id = $1 AND m.routing_key = 'wallet.balance_low') AS warnings,
             (SELECT count(*) FROM account WHERE test_clock_id = $1 AND depleted) AS run_outs""",
        clock_id,
    )
    assert row is not None
    return {name: int(row[name]) for name in ("usage_entries", "warnings", "run_outs")}


async def raw_transactions(pool: asyncpg.Pool, count: int) -> float:
    """`count` transactions of the advance's shape, one after the other as the advance runs them: per second."""
    account_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO account (id, name, opened_by, opened_at, settled_at, segment_start, balance)
           VALUES ($1, 'raw', 'bench', $2, $2, $2, $3)""",
        account_id,
        START,
        count * MICRO_PER_ISC,
    )
    started = time.perf_counter()
    for i in range(count):
        async with pool.acquire() as conn, conn.transaction():
            balance = await conn.fetchval("SELECT balance FROM account WHERE id = $1 FOR UPDATE", account_id)
            at = START + timedelta(hours=i)
            await conn.execute(
                "UPDATE account SET balance = $2, settled_at = $3, version = version + 1 WHERE id = $1",
                account_id,
                balance - MICRO_PER_ISC,
                at,
            )
            seq = await conn.fetchval(
                """INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at)
                   VALUES ($1, $2, 'usage', $3, $4, $5) RETURNING seq""",
                uuid.uuid4(),
                account_id,
                -MICRO_PER_ISC,
                balance - MICRO_PER_ISC,
                at,
            )
            await conn.execute(
                """INSERT INTO ledger_line (entry_seq, book, amount)
                   VALUES ($1, 'customer_wallet', $2), ($1, 'usage_earned', $3)""",
                seq,
                -MICRO_PER_ISC,
                MICRO_PER_ISC,
            )
    return count / (time.perf_counter() - started)


async def measure(database: str, accounts: int, dev_dir: Path) -> list[Row]:
    dsn = wallet_dsn(database)
    settings = Settings(
        database_url=dsn,
        amqp_url=AMQP_URL,
        broker_prefix=f"{database}.",
        auth_jwks_path=dev_dir / "jwks.json",
        auth_jwks_url=None,
        log_level="WARNING",
        # The wallet's part of an advance: contracts and the distributor do not run here.
        test_clock_followers=[],
    )
    await apply_migrations(SPEC, settings)
    pool = await create_pool(dsn=dsn, schema="wallet", min_size=1, max_size=4)
    try:
        set_up = time.perf_counter()
        clock_id = await clocked_accounts(pool, accounts)
        set_up_s = time.perf_counter() - set_up
        token = issue_token(load_or_create_key(dev_dir), roles=["operator"])
        try:
            async with wallet_process(settings) as (base_url, _pid):
                advance_s = await advance_over_http(base_url, token, clock_id)
        finally:
            await delete_broker_objects(settings)
        done = await work_done(pool, clock_id)
        units = done["usage_entries"] + done["warnings"]
        raw_per_s = await raw_transactions(pool, units)
    finally:
        await pool.close()
    return [
        Row(f"set-up: {accounts} accounts on a clock, funded and renting", set_up_s, "s"),
        Row(f"advance by 7 weeks -> ready, {accounts} accounts", advance_s, "s"),
        Row("run-outs in the advance", done["run_outs"], "accounts"),
        Row("settlements and run-outs booked", done["usage_entries"], "entries"),
        Row("warnings announced", done["warnings"], "events"),
        Row("units of work per second in the advance", units / advance_s, "/s", raw_per_s),
        Row("raw asyncpg transactions of that shape, one at a time (baseline)", raw_per_s, "/s"),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100)
    args = parser.parse_args()
    configure_logging(service="bench", level="WARNING", json=True)
    async with scratch_database("rental_bench_clock") as database:
        with tempfile.TemporaryDirectory() as dev_dir:
            load_or_create_key(Path(dev_dir))
            rows = await measure(database, args.accounts, Path(dev_dir))
    save("clock_advance", rows, parameters={"accounts": args.accounts})
    print_rows("clock_advance", rows)


if __name__ == "__main__":
    asyncio.run(main())
