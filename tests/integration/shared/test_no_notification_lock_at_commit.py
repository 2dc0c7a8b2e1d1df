"""Business transactions that write outbox rows never wait on one another's commit.

PostgreSQL serialises the commits of every transaction that queued a NOTIFY: at commit such a transaction
takes an instance-wide lock (in `pg_locks`: an `object` lock on `pg_database` with objid 0) and holds it
through its WAL flush. Here a holder session keeps that lock taken, committing a notification slowly
(`commit_delay`) again and again, while business transactions commit beside it. A transaction that
notifies is seen waiting for the lock (the control: the probe can see a waiter); the business
transactions never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from shared.db import transaction
from shared.events.wallet import AccountOpened
from shared.messaging.outbox import add_to_outbox
from tests.harness import TestPlatform, eventually
from tests.integration.shared.messaging_rig import messaging_rig

NOTIFY_LOCK = "locktype = 'object' AND classid = 'pg_database'::regclass AND objid = 0"
# How long the holder's every commit sleeps in the WAL flush, holding the lock (microseconds; at most 0.1 s).
HOLD_US = 30_000


class LockWatch:
    """Samples `pg_locks` for the notification lock: who held it and who waited for it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.holders: set[int] = set()
        self.waiters: set[int] = set()

    async def sample(self) -> None:
        for row in await self.conn.fetch(f"SELECT pid, granted FROM pg_locks WHERE {NOTIFY_LOCK}"):
            (self.holders if row["granted"] else self.waiters).add(row["pid"])

    async def sampled(self) -> LockWatch:
        await self.sample()
        return self

    async def while_running(self, work: asyncio.Future[object]) -> None:
        while not work.done():
            await self.sample()
        await work


@contextlib.asynccontextmanager
async def notification_lock_held(dsn: str, schema: str) -> AsyncIterator[int]:
    """A session committing NOTIFYs back to back, each holding the lock for HOLD_US; yields its pid."""
    holder = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await holder.execute(f"SET commit_delay = {HOLD_US}; SET commit_siblings = 0")
    await holder.execute("CREATE TABLE holder_write (id bigserial PRIMARY KEY)")
    stopping = asyncio.Event()

    async def hold() -> None:
        while not stopping.is_set():
            async with holder.transaction():
                # A durable write, so the commit flushes WAL (where commit_delay sleeps, lock held).
                await holder.execute("INSERT INTO holder_write DEFAULT VALUES")
                await holder.execute("NOTIFY rental_test_holder")

    task = asyncio.create_task(hold())
    try:
        yield holder.get_server_pid()
    finally:
        stopping.set()
        await task
        await holder.close()


async def test_business_transactions_never_wait_for_the_notification_lock(platform: TestPlatform) -> None:
    async with messaging_rig(platform) as rig:
        watcher = await asyncpg.connect(rig.dsn)
        watch = LockWatch(watcher)
        notifier = await asyncpg.connect(rig.dsn)
        try:
            async with notification_lock_held(rig.dsn, rig.publisher_schema) as holder_pid:
                await eventually(watch.sampled, until=lambda w: holder_pid in w.holders)

                async def notifying_transaction() -> None:
                    async with notifier.transaction():
                        await notifier.execute("NOTIFY rental_test_control")

                await watch.while_running(asyncio.ensure_future(notifying_transaction()))
                assert notifier.get_server_pid() in watch.waiters, "the probe did not see a notifying commit wait"

                business_pids: set[int] = set()

                async def business_transaction(i: int) -> None:
                    async with transaction(rig.publisher_pool) as conn:
                        business_pids.add(conn.get_server_pid())
                        await add_to_outbox(conn, AccountOpened(account_id=uuid.uuid4(), name=f"business-{i}"))

                async def business_transactions() -> None:
                    for round_ in range(5):
                        await asyncio.gather(*(business_transaction(round_ * 4 + i) for i in range(4)))

                await watch.while_running(asyncio.ensure_future(business_transactions()))
            assert business_pids
            assert not business_pids & watch.waiters
            assert await rig.unsent() == 20
        finally:
            await watcher.close()
            await notifier.close()
