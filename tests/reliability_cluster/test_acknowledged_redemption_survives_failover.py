"""An acknowledged redemption survives the loss of the Postgres primary right after the acknowledgement.

The wallet runs as a real process on the multi-host URL of the run's primary and synchronous standby. A key is
redeemed; the moment the wallet's 201 arrives the primary is stopped as if its machine died (`immediate`: no
shutdown checkpoint, nothing flushed that was not already) and the standby promoted. The redemption must be in
the ledger of the promoted node and the balance must carry it; the wallet, not restarted, answers from the new
primary.

That the acknowledgement waits for the standby is shown too, so the first test cannot pass by luck: with the
standby's WAL receiver stopped (SIGSTOP), a redemption gets no answer; once it runs again, the answer comes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from reliability.cluster import Servers

from tests.harness import eventually
from tests.integration.scale.replicas import WALLET, ReplicaSet, running_replicas
from tests.reliability_cluster.conftest import ClusterPlatform

pytestmark = pytest.mark.timeout(600)
MICRO = 1_000_000


@pytest.fixture(scope="module")
async def wallet(platform: ClusterPlatform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaSet]:
    log_dir: Path = tmp_path_factory.mktemp("redemption-failover-logs")
    async with running_replicas(platform, log_dir, count=1, services=(WALLET,)) as replica_set:
        yield replica_set


async def sold_key(http: httpx.AsyncClient, wallet: ReplicaSet, amount_isc: int) -> tuple[str, str, str]:
    """A fresh account and a key of `amount_isc` sold for it: (account id, key id, code)."""
    url = wallet.of(WALLET)[0].url
    partner = wallet.platform.auth("partner")
    account = await http.post(
        f"{url}/v1/accounts", headers={**partner, "Idempotency-Key": uuid.uuid4().hex}, json={"name": "Fail-over"}
    )
    assert account.status_code == 201, account.text
    batch = await http.post(
        f"{url}/v1/activation-keys",
        headers={**partner, "Idempotency-Key": uuid.uuid4().hex},
        json={"amount": str(amount_isc), "count": 1},
    )
    assert batch.status_code == 201, batch.text
    key = batch.json()["keys"][0]
    return str(account.json()["id"]), str(key["id"]), str(key["code"])


async def redeem(http: httpx.AsyncClient, wallet: ReplicaSet, account_id: str, code: str) -> httpx.Response:
    customer = wallet.platform.auth("customer", account_id=account_id)
    return await http.post(
        f"{wallet.of(WALLET)[0].url}/v1/accounts/{account_id}/redemptions",
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        json={"code": code},
    )


async def test_an_acknowledged_redemption_is_on_the_promoted_standby_after_the_primary_is_lost(
    wallet: ReplicaSet, servers: Servers
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        account_id, key_id, code = await sold_key(http, wallet, 7)
        answer = await redeem(http, wallet, account_id, code)
        assert answer.status_code == 201, answer.text
        lost = servers.postgres.primary
        await servers.postgres.fail_over()  # right after the acknowledgement: stop immediate, promote
        assert servers.postgres.primary is not lost

        promoted = await asyncpg.connect(servers.postgres.primary.admin_url, database=wallet.database)
        try:
            entries = await promoted.fetchval(
                "SELECT count(*) FROM wallet.ledger_entry WHERE key_id = $1", uuid.UUID(key_id)
            )
            balance = await promoted.fetchval("SELECT balance FROM wallet.account WHERE id = $1", uuid.UUID(account_id))
        finally:
            await promoted.close()
        assert entries == 1
        assert balance == 7 * MICRO

        # The wallet was not restarted: it finds the promoted node itself and answers from it.
        customer = wallet.platform.auth("customer", account_id=account_id)

        async def account() -> httpx.Response | None:
            try:
                return await http.get(f"{wallet.of(WALLET)[0].url}/v1/accounts/{account_id}", headers=customer)
            except httpx.TransportError:
                return None

        seen = await eventually(account, until=lambda r: r is not None and r.status_code == 200, within=60, every=0.2)
        assert seen is not None
        assert seen.json()["balance"] == "7"
    await servers.postgres.rebuild_standby()


async def test_a_redemption_is_not_acknowledged_while_the_standby_cannot_confirm_it(
    wallet: ReplicaSet, servers: Servers
) -> None:
    standby = servers.postgres.replica
    assert standby is not None
    receiver = await standby.fetchval("SELECT pid FROM pg_stat_wal_receiver")
    assert isinstance(receiver, int), receiver
    async with httpx.AsyncClient(timeout=30) as http:
        account_id, _, code = await sold_key(http, wallet, 3)
        os.kill(receiver, signal.SIGSTOP)
        try:
            pending = asyncio.create_task(redeem(http, wallet, account_id, code))
            done, _ = await asyncio.wait({pending}, timeout=3)
            assert not done, "acknowledged although the standby could not have it"
        finally:
            os.kill(receiver, signal.SIGCONT)
        answer = await asyncio.wait_for(pending, timeout=30)
        assert answer.status_code == 201, answer.text
