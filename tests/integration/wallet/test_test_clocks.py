"""Test clocks (issue 18), on a real wallet, Postgres and RabbitMQ: seven weeks of an account in a few seconds.

Two clocks start at the same instant; an account on each is funded alike and rents at 1 iSC per second (exactly
one micro-iSC per microsecond, so the run-out and every daily settlement are exact integers). One clock is
advanced seven weeks in uneven steps, the other in one go: both book the same ledger, warn once at each rung of
the ladder and run out at the same instant, and both match the account computed here by hand.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.dev_issuer import issue_token, load_or_create_key
from shared.money import MICRO_PER_ISC, format_isc
from tests.harness import TestPlatform, admin_fetch, eventually, running_service
from tests.integration.wallet.wallet_rig import (
    ONE_ISC_PER_SECOND_PER_DAY,
    account_where,
    fund,
    idem,
    publish_rental_changed,
    read_account,
)
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

DAY = timedelta(days=1)
LADDER_S = [14 * 86_400, 7 * 86_400, 86_400]
START = datetime(2027, 3, 1, tzinfo=UTC)
# Three keys of 1,000,000 iSC at 1 iSC per second: the run-out is 3,000,000 s (34 days, 17 h 20 min) in.
KEYS_ISC = (1_000_000, 1_000_000, 1_000_000)
BALANCE = sum(KEYS_ISC) * MICRO_PER_ISC
RUN_OUT = START + timedelta(microseconds=BALANCE)
SEVEN_WEEKS = 49 * DAY


@pytest.fixture(scope="module")
async def wallet(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    # The deployment's daily settlement and a ladder of weeks: only a clock gets through them in a test.
    settings = platform.settings(WalletSettings, low_balance_thresholds_s=LADDER_S, test_clock_followers=[])
    async with running_service(WALLET, settings) as client:
        yield client


async def create_clock(wallet: httpx.AsyncClient, platform: TestPlatform, *, at: datetime) -> dict[str, object]:
    response = await wallet.post(
        "/v1/test-clocks",
        json={"name": f"rehearsal {uuid.uuid4().hex[:6]}", "frozen_time": at.isoformat()},
        headers={**platform.auth("partner"), **idem()},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def advance(wallet: httpx.AsyncClient, platform: TestPlatform, clock_id: object, *, to: datetime) -> None:
    """Advance and wait for `ready`, polling the clock's status (never sleeping for a time)."""
    response = await wallet.post(
        f"/v1/test-clocks/{clock_id}/advance",
        json={"to": to.isoformat()},
        headers={**platform.auth("partner"), **idem()},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "advancing"
    ready = await eventually(
        lambda: read_clock(wallet, platform, clock_id), until=lambda c: c["status"] == "ready", within=60
    )
    assert datetime.fromisoformat(str(ready["frozen_time"])) == to


async def read_clock(wallet: httpx.AsyncClient, platform: TestPlatform, clock_id: object) -> dict[str, object]:
    read = await wallet.get(f"/v1/test-clocks/{clock_id}", headers=platform.auth("partner"))
    assert read.status_code == 200, read.text
    body: dict[str, object] = read.json()
    return body


async def renting_account_on(wallet: httpx.AsyncClient, platform: TestPlatform, clock_id: object) -> str:
    """An account on the clock, funded with KEYS_ISC at the clock's start and renting at 1 iSC per second."""
    opened = await wallet.post(
        "/v1/accounts",
        json={"name": "Rehearsal GmbH", "test_clock_id": str(clock_id)},
        headers={**platform.auth("partner"), **idem()},
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["test_clock_id"] == str(clock_id)
    account_id = str(opened.json()["id"])
    for amount in KEYS_ISC:
        await fund(wallet, platform, account_id, amount=str(amount))
    await publish_rental_changed(
        platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=ONE_ISC_PER_SECOND_PER_DAY, version=1
    )
    burning = await account_where(
        wallet, platform, account_id, burn_rate_per_day=format_isc(ONE_ISC_PER_SECOND_PER_DAY)
    )
    # Funded and renting at the clock's start, whatever the wall clock says.
    assert datetime.fromisoformat(str(burning["depletes_at"])) == RUN_OUT
    return account_id


async def ledger(platform: TestPlatform, account_id: str) -> list[tuple[str, int, int, datetime]]:
    rows = await admin_fetch(
        platform,
        "SELECT kind, amount, balance_after, at FROM wallet.ledger_entry WHERE account_id = $1 ORDER BY seq",
        uuid.UUID(account_id),
    )
    return [(r["kind"], int(r["amount"]), int(r["balance_after"]), r["at"]) for r in rows]


async def announced(platform: TestPlatform, account_id: str, routing_key: str) -> list[dict[str, object]]:
    """What the account's events of this kind said, from the outbox (every event written, once each)."""
    rows = await admin_fetch(
        platform,
        "SELECT payload FROM wallet.outbox_message WHERE subject = $1 AND routing_key = $2 ORDER BY created_at",
        account_id,
        routing_key,
    )
    return [json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"]) for r in rows]


def modelled_ledger() -> list[tuple[str, int, int, datetime]]:
    """The account by hand: three redemptions at the start, 86,400 iSC settled at the end of each whole day, and
    the rest at the run-out, when the balance reaches exactly zero."""
    entries: list[tuple[str, int, int, datetime]] = []
    balance = 0
    for amount in KEYS_ISC:
        balance += amount * MICRO_PER_ISC
        entries.append(("redemption", amount * MICRO_PER_ISC, balance, START))
    day = 1
    while START + day * DAY < RUN_OUT:
        balance -= 86_400 * MICRO_PER_ISC
        entries.append(("usage", -86_400 * MICRO_PER_ISC, balance, START + day * DAY))
        day += 1
    entries.append(("usage", -balance, 0, RUN_OUT))
    return entries


def modelled_warnings() -> list[tuple[int, datetime]]:
    """Each rung of the ladder once, at the run-out less its threshold: (threshold, depletes_at)."""
    return [(threshold, RUN_OUT) for threshold in LADDER_S]


async def test_seven_weeks_in_steps_book_what_one_advance_books_and_what_the_account_by_hand_says(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    stepped_clock = (await create_clock(wallet, platform, at=START))["id"]
    single_clock = (await create_clock(wallet, platform, at=START))["id"]
    stepped = await renting_account_on(wallet, platform, stepped_clock)
    single = await renting_account_on(wallet, platform, single_clock)

    # Uneven steps that never land on a settlement or a warning: 3 days 5 h each, then the rest.
    at = START
    while at + timedelta(days=3, hours=5) < START + SEVEN_WEEKS:
        at += timedelta(days=3, hours=5)
        await advance(wallet, platform, stepped_clock, to=at)
    await advance(wallet, platform, stepped_clock, to=START + SEVEN_WEEKS)
    await advance(wallet, platform, single_clock, to=START + SEVEN_WEEKS)

    expected = modelled_ledger()
    assert await ledger(platform, stepped) == expected
    assert await ledger(platform, single) == expected
    for account_id in (stepped, single):
        warnings = await announced(platform, account_id, "wallet.balance_low")
        assert [(w["threshold_s"], datetime.fromisoformat(str(w["depletes_at"]))) for w in warnings] == (
            modelled_warnings()
        )
        [depleted] = await announced(platform, account_id, "wallet.balance_depleted")
        assert datetime.fromisoformat(str(depleted["at"])) == RUN_OUT
        account = await read_account(wallet, platform, account_id)
        assert (account["balance"], account["status"], account["depletes_at"]) == ("0", "depleted", None)


async def test_an_advance_left_by_a_replica_that_died_is_taken_over_and_books_the_same(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    clock_id = (await create_clock(wallet, platform, at=START))["id"]
    account_id = await renting_account_on(wallet, platform, clock_id)
    # Another replica asked for the advance, claimed the clock for two seconds and died before doing any work:
    # the running wallet leaves the clock alone while that lease holds, then takes it over.
    await admin_fetch(
        platform,
        """UPDATE wallet.test_clock SET advancing_to = $2, advanced_by = 'a-replica-that-died',
                  advanced_until = clock_timestamp() + interval '2 seconds'
           WHERE id = $1 RETURNING id""",
        uuid.UUID(str(clock_id)),
        START + SEVEN_WEEKS,
    )

    assert (await read_clock(wallet, platform, clock_id))["status"] == "advancing"
    # Its accounts wait meanwhile: their work is being done at instants the clock does not show yet.
    waiting = await wallet.get(f"/v1/accounts/{account_id}", headers=platform.auth("customer", account_id=account_id))
    assert (waiting.status_code, waiting.json()["code"]) == (409, "test_clock_advancing"), waiting.text
    ready = await eventually(
        lambda: read_clock(wallet, platform, clock_id), until=lambda c: c["status"] == "ready", within=30
    )
    assert datetime.fromisoformat(str(ready["frozen_time"])) == START + SEVEN_WEEKS
    assert await ledger(platform, account_id) == modelled_ledger()


async def test_an_advance_leaves_live_accounts_alone_and_a_deleted_clock_stops(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    live = await wallet.post("/v1/accounts", json={"name": "Live AG"}, headers={**platform.auth("partner"), **idem()})
    assert live.status_code == 201, live.text
    live_id = str(live.json()["id"])
    assert live.json()["test_clock_id"] is None
    await fund(wallet, platform, live_id, amount="100")
    await publish_rental_changed(
        platform, account_id=live_id, contract_id=uuid.uuid4(), rate_per_day=86_400 * MICRO_PER_ISC, version=1
    )
    before = await account_where(wallet, platform, live_id, burn_rate_per_day="86400")
    live_ledger = await ledger(platform, live_id)

    clock_id = (await create_clock(wallet, platform, at=START))["id"]
    clocked = await renting_account_on(wallet, platform, clock_id)
    await advance(wallet, platform, clock_id, to=START + SEVEN_WEEKS)
    assert (await read_account(wallet, platform, clocked))["status"] == "depleted"

    # The live account burns by the wall clock only: no entry, no run-out, the same run-out instant.
    after = await read_account(wallet, platform, live_id)
    assert await ledger(platform, live_id) == live_ledger
    assert (after["status"], after["depletes_at"]) == ("funded", before["depletes_at"])

    deleted = await wallet.delete(f"/v1/test-clocks/{clock_id}", headers=platform.auth("partner"))
    assert deleted.status_code == 204, deleted.text
    gone = await wallet.get(f"/v1/test-clocks/{clock_id}", headers=platform.auth("partner"))
    assert gone.status_code == 404
    again = await wallet.post(
        f"/v1/test-clocks/{clock_id}/advance",
        json={"to": (START + 2 * SEVEN_WEEKS).isoformat()},
        headers={**platform.auth("partner"), **idem()},
    )
    assert again.status_code == 404, again.text
    # Its account stays readable at the clock's last time; the live one is as it was.
    assert (await read_account(wallet, platform, clocked))["status"] == "depleted"
    assert await ledger(platform, live_id) == live_ledger


async def test_a_clock_moves_forward_only_by_at_most_two_years_and_only_for_its_owner(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    clock = await create_clock(wallet, platform, at=START)
    partner = platform.auth("partner")

    async def advance_to(to: datetime, headers: dict[str, str]) -> httpx.Response:
        return await wallet.post(
            f"/v1/test-clocks/{clock['id']}/advance", json={"to": to.isoformat()}, headers={**headers, **idem()}
        )

    back = await advance_to(START - timedelta(seconds=1), partner)
    assert (back.status_code, back.json()["code"]) == (422, "test_clock_not_forward"), back.text
    same = await advance_to(START, partner)
    assert (same.status_code, same.json()["code"]) == (422, "test_clock_not_forward"), same.text
    far = await advance_to(START + timedelta(days=731, seconds=1), partner)
    assert (far.status_code, far.json()["code"]) == (422, "test_clock_advance_too_far"), far.text

    key = load_or_create_key(platform.dev_dir)
    other = {"Authorization": f"Bearer {issue_token(key, roles=['partner'], subject='another-partner')}"}
    assert (await wallet.get(f"/v1/test-clocks/{clock['id']}", headers=other)).status_code == 404
    assert (await advance_to(START + DAY, other)).status_code == 404
    listed = await wallet.get("/v1/test-clocks", headers=other)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []
    foreign = await wallet.post(
        "/v1/accounts", json={"name": "Not mine", "test_clock_id": str(clock["id"])}, headers={**other, **idem()}
    )
    assert (foreign.status_code, foreign.json()["code"]) == (422, "unknown_test_clock"), foreign.text

    # The owner's list shows it; an operator sees it too.
    mine = await wallet.get("/v1/test-clocks?limit=200", headers=platform.auth("partner"))
    assert clock["id"] in [c["id"] for c in mine.json()["items"]]
    seen = await wallet.get(f"/v1/test-clocks/{clock['id']}", headers=platform.auth("operator"))
    assert seen.status_code == 200, seen.text
    assert datetime.fromisoformat(seen.json()["frozen_time"]) == START


async def test_auto_isc_reloads_at_each_crossing_during_an_advance_the_same_in_steps_and_in_one_go(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    # A reload of 200,000 iSC when a week is left, at most 400,000 iSC a month: reloaded at the run-out less a
    # week, then again each time those 200,000 seconds are spent, twice in March and twice in April; the fifth
    # crossing is refused by April's cap, and the account runs out.
    threshold, reload_s = timedelta(days=7), 200_000
    crossings = [RUN_OUT - threshold + timedelta(seconds=n * reload_s) for n in range(5)]
    assert [c.month for c in crossings] == [3, 3, 4, 4, 4]
    final_run_out = RUN_OUT + timedelta(seconds=4 * reload_s)
    accounts = []
    for steps in (True, False):
        clock_id = (await create_clock(wallet, platform, at=START))["id"]
        account_id = await renting_account_on(wallet, platform, clock_id)
        setting = await wallet.put(
            f"/v1/accounts/{account_id}/auto-reload",
            json={"threshold_days": 7, "amount": str(reload_s), "monthly_cap": str(2 * reload_s), "enabled": True},
            headers=platform.auth("customer", account_id=account_id),
        )
        assert setting.status_code == 200, setting.text
        if steps:
            for week in range(1, 7):
                await advance(wallet, platform, clock_id, to=START + timedelta(weeks=week, hours=3))
        await advance(wallet, platform, clock_id, to=START + SEVEN_WEEKS)
        accounts.append(account_id)

    books = [await ledger(platform, account_id) for account_id in accounts]
    assert books[0] == books[1]
    for account_id in accounts:
        orders = await admin_fetch(
            platform,
            "SELECT ordered_at FROM wallet.reload_order WHERE account_id = $1 ORDER BY crossing",
            uuid.UUID(account_id),
        )
        assert [o["ordered_at"] for o in orders] == crossings[:4]
        [refused] = await announced(platform, account_id, "wallet.auto_reload_failed")
        assert refused["reason"] == "monthly_cap_reached"
        [depleted] = await announced(platform, account_id, "wallet.balance_depleted")
        assert datetime.fromisoformat(str(depleted["at"])) == final_run_out
