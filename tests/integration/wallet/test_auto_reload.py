"""Auto-iSC on real servers: two wallet replicas on one moved clock, real Postgres and RabbitMQ.

A reload is due at the run-out minus the threshold (the burn-down's own run-out), handled once per crossing by
whichever replica claims it; a redelivered event changes nothing. The preconditions are refused with their codes,
the partner sees its order, the monthly cap and a partner's suspension stop reloads with `AutoReloadFailed` (and an
e-mail notice to the customer), and a run-out pauses Auto-iSC until the customer loads credit.

The scheduler reaches every account of its database, so these tests get a platform of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared import auto_reload
from shared.clock import MovableClock
from shared.dev_issuer import issue_token, load_or_create_key
from shared.events.wallet import (
    AccountAssigned,
    AutoReloadChanged,
    AutoReloadFailed,
    AutoReloadTriggered,
    CreditsLoaded,
)
from shared.money import MICRO_PER_ISC
from tests.harness import (
    EventTap,
    TestPlatform,
    admin_count,
    eventually,
    fresh_platform,
    running_service,
)
from tests.integration.wallet.wallet_rig import (
    account_where,
    fund,
    handled_by_wallet,
    idem,
    publish_rental_changed,
    read_account,
)
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

DAY = timedelta(days=1)
RATE = MICRO_PER_ISC  # 1 iSC per day


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    dev_dir: Path = tmp_path_factory.mktemp("auto-reload")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        yield own


def partner_auth(platform: TestPlatform, subject: str) -> dict[str, str]:
    """A partner with a stable subject (the platform's tokens get a fresh one each time)."""
    token = issue_token(load_or_create_key(platform.dev_dir), roles=["partner"], subject=subject)
    return {"Authorization": f"Bearer {token}"}


async def two_wallets(stack: AsyncExitStack, platform: TestPlatform, clock: MovableClock) -> list[httpx.AsyncClient]:
    # The scheduler sleeps to the next due instant; at most the default half second, so a setting changed by a
    # request (which does not wake it) is seen at once, as in production.
    settings = platform.settings(WalletSettings)
    return [await stack.enter_async_context(running_service(WALLET, settings, clock=clock)) for _ in range(2)]


async def opened_by(wallet: httpx.AsyncClient, platform: TestPlatform, partner: str) -> str:
    response = await wallet.post("/v1/accounts", json={"name": "Acme"}, headers=partner_auth(platform, partner))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def set_auto_reload(
    wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, **body: object
) -> httpx.Response:
    return await wallet.put(
        f"/v1/accounts/{account_id}/auto-reload",
        json={"threshold_days": 7, "amount": "10", "monthly_cap": "100", "enabled": True, **body},
        headers=platform.auth("customer", account_id=account_id),
    )


async def auto_reload_of(wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str) -> dict[str, object]:
    response = await wallet.get(
        f"/v1/accounts/{account_id}/auto-reload", headers=platform.auth("customer", account_id=account_id)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def count_of(platform: TestPlatform, table: str, account_id: str, where: str = "true") -> int:
    return await admin_count(
        platform,
        f"SELECT count(*) FROM wallet.{table} WHERE account_id = $1 AND {where}",
        uuid.UUID(account_id),
    )


async def the_partner_sees_its_orders(
    wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, *, partner: str, count: int
) -> None:
    # The partner that opened the account sees its orders; another partner does not; an operator sees all.
    mine = await wallet.get("/v1/partners/me/orders", headers=partner_auth(platform, partner))
    assert mine.status_code == 200, mine.text
    assert [o["account_id"] for o in mine.json()["items"]] == [account_id] * count
    assert {o["partner"] for o in mine.json()["items"]} == {partner}
    theirs = await wallet.get("/v1/partners/me/orders", headers=partner_auth(platform, "partner-two"))
    assert theirs.json()["items"] == []
    everyone = await wallet.get(
        "/v1/reload-orders", params={"account_id": account_id}, headers=platform.auth("operator")
    )
    assert len(everyone.json()["items"]) == count
    customer = await wallet.get("/v1/partners/me/orders", headers=platform.auth("customer", account_id=account_id))
    assert customer.status_code == 403

    # Every order is matched by exactly one ledger entry of the reload book.
    assert (
        await admin_count(
            platform,
            """SELECT count(*) FROM wallet.reload_order o JOIN wallet.ledger_entry e ON e.id = o.ledger_entry_id
           JOIN wallet.ledger_line l ON l.entry_seq = e.seq AND l.book = 'reload_orders'
           WHERE o.account_id = $1 AND l.amount = -o.amount AND e.amount = o.amount""",
            uuid.UUID(account_id),
        )
        == count
    )


async def test_a_reload_fires_once_per_crossing_with_two_replicas_and_a_redelivered_event(
    platform: TestPlatform, tap: EventTap
) -> None:
    clock = MovableClock()
    async with AsyncExitStack() as stack:
        first, second = await two_wallets(stack, platform, clock)
        account_id = await opened_by(first, platform, "partner-one")

        # No active contract yet: refused with its own code.
        refused = await set_auto_reload(first, platform, account_id)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "auto_reload_needs_active_contract"

        await fund(first, platform, account_id, amount="10")
        contract_id = uuid.uuid4()
        rental = await publish_rental_changed(
            platform, account_id=account_id, contract_id=contract_id, rate_per_day=RATE, version=1
        )
        await account_where(first, platform, account_id, burn_rate_per_day="1")
        # 10 days' worth loaded by hand, 30 needed.
        refused = await set_auto_reload(second, platform, account_id)
        assert refused.status_code == 409, refused.text
        assert (refused.json()["code"], refused.json()["needed"]) == ("auto_reload_needs_manual_loads", "30")

        await fund(first, platform, account_id, amount="20")
        accepted = await set_auto_reload(second, platform, account_id)
        assert accepted.status_code == 200, accepted.text
        account = await read_account(first, platform, account_id)
        depletes_at = datetime.fromisoformat(str(account["depletes_at"]))
        crossing_at = depletes_at - 7 * DAY
        assert accepted.json()["state"] == "active"
        assert datetime.fromisoformat(accepted.json()["next_reload_at"]) == crossing_at

        # Just before the crossing nothing happens; just after it, one reload, by one of the two replicas.
        clock.advance(crossing_at - timedelta(seconds=1) - clock.now())
        assert (await auto_reload_of(second, platform, account_id))["last_reload"] is None
        assert not tap.of(AutoReloadTriggered, account_id=account_id)
        clock.advance(timedelta(seconds=2))
        [triggered] = await tap.wait_for(AutoReloadTriggered, account_id=account_id)
        assert triggered.envelope.data["crossing"] == 1
        [credited] = await tap.wait_for(CreditsLoaded, account_id=account_id, source="auto_reload")
        assert credited.envelope.data["order_id"] == triggered.envelope.data["order_id"]

        # The event that started the burn, delivered again (same message id), and a stale copy under a new id.
        await publish_rental_changed(
            platform, account_id=account_id, contract_id=contract_id, rate_per_day=RATE, version=1, message_id=rental
        )
        again = await publish_rental_changed(
            platform, account_id=account_id, contract_id=contract_id, rate_per_day=RATE, version=1
        )
        await eventually(lambda: handled_by_wallet(platform, again), until=bool, what="the stale copy handled")
        state = await auto_reload_of(first, platform, account_id)
        last_reload = state["last_reload"]
        assert isinstance(last_reload, dict)
        assert (last_reload["crossing"], last_reload["amount"]) == (1, "10")
        # The next crossing is 10 days on (17 days left, 7 of threshold): nothing is due before it.
        next_at = datetime.fromisoformat(str(state["next_reload_at"]))
        assert abs(next_at - (crossing_at + 10 * DAY)) < timedelta(seconds=10)
        assert await count_of(platform, "reload_order", account_id) == 1
        assert await count_of(platform, "ledger_entry", account_id, "kind = 'auto_reload'") == 1
        assert await count_of(platform, "auto_reload_crossing", account_id) == 1

        # The second crossing: one more reload, once.
        clock.advance(next_at - clock.now() + timedelta(seconds=1))
        reloads = await tap.wait_for(AutoReloadTriggered, account_id=account_id, count=2)
        assert [r.envelope.data["crossing"] for r in reloads] == [1, 2]
        await eventually(
            lambda: count_of(platform, "ledger_entry", account_id, "kind = 'auto_reload'"), until=lambda n: n == 2
        )
        assert len(tap.of(AutoReloadTriggered, account_id=account_id)) == 2
        assert await count_of(platform, "reload_order", account_id) == 2

        await the_partner_sees_its_orders(first, platform, account_id, partner="partner-one", count=2)


async def test_the_cap_and_a_partner_s_suspension_stop_reloads_and_a_run_out_waits_for_the_customer(
    platform: TestPlatform, tap: EventTap
) -> None:
    clock = MovableClock()
    # The story below (a crossing 25 days on, the run-out 7 days later) stays inside one calendar month, so the
    # cap's refusal is not tried again at a month's turn (the next test covers that).
    month = auto_reload.next_month_start(clock.now() + 26 * DAY)
    clock.advance(month - 25 * DAY + timedelta(hours=1) - clock.now())
    async with AsyncExitStack() as stack:
        first, second = await two_wallets(stack, platform, clock)
        account_id = await opened_by(first, platform, "partner-three")
        await first.put(
            f"/v1/accounts/{account_id}/contacts",
            json={"emails": ["owner@example.com"]},
            headers=platform.auth("customer", account_id=account_id),
        )
        await fund(first, platform, account_id, amount="30")
        await publish_rental_changed(
            platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=RATE, version=1
        )
        account = await account_where(first, platform, account_id, burn_rate_per_day="1")
        depletes_at = datetime.fromisoformat(str(account["depletes_at"]))

        # Set when only 5 days are left, under the 7-day threshold: a reload of 1 iSC at once, and again while
        # still under it, until the cap of 2 iSC refuses the third.
        clock.advance(depletes_at - 5 * DAY - clock.now())
        accepted = await set_auto_reload(second, platform, account_id, amount="1", monthly_cap="2")
        assert accepted.status_code == 200, accepted.text
        reloads = await tap.wait_for(AutoReloadTriggered, account_id=account_id, count=2)
        [failed] = await tap.wait_for(AutoReloadFailed, account_id=account_id)
        assert failed.envelope.data["reason"] == "monthly_cap_reached"
        assert [r.envelope.data["crossing"] for r in reloads] == [1, 2]
        assert failed.envelope.data["crossing"] == 3
        state = await auto_reload_of(first, platform, account_id)
        assert (state["reloaded_this_month"], state["last_failure_reason"], state["next_reload_at"]) == (
            "2",
            "monthly_cap_reached",
            None,
        )
        # The customer is told of each reload and warned of the refusal (and of the 7-day threshold) by e-mail,
        # once each, and reads the notices through the API.
        await eventually(
            lambda: count_of(platform, "email_notice", account_id, "kind = 'auto_reload_failed'"),
            until=lambda n: n == 1,
        )
        notices = await first.get(
            f"/v1/accounts/{account_id}/email-notices", headers=platform.auth("customer", account_id=account_id)
        )
        assert notices.status_code == 200, notices.text
        assert sorted(n["kind"] for n in notices.json()["items"]) == [
            "auto_reload_failed",
            "auto_reload_triggered",
            "auto_reload_triggered",
            "balance_low",
        ]

        # A partner's suspension: the next crossing (the cap lifted by setting a larger one) fails with its reason.
        suspended = await first.put(
            f"/v1/accounts/{account_id}/auto-reload/suspension",
            json={"suspended": True},
            headers=partner_auth(platform, "partner-three"),
        )
        assert suspended.status_code == 200, suspended.text
        assert suspended.json()["state"] == "suspended_by_partner"
        raised = await set_auto_reload(second, platform, account_id, amount="1", monthly_cap="50")
        assert raised.status_code == 200, raised.text
        failures = await tap.wait_for(AutoReloadFailed, account_id=account_id, count=2)
        assert (failures[-1].envelope.data["reason"], failures[-1].envelope.data["crossing"]) == (
            "suspended_by_partner",
            4,
        )
        assert len(tap.of(AutoReloadTriggered, account_id=account_id)) == 2

        # The account runs out while suspended; lifting the suspension does not reload a depleted account.
        clock.advance(7 * DAY)
        await account_where(first, platform, account_id, status="depleted")
        lifted = await first.put(
            f"/v1/accounts/{account_id}/auto-reload/suspension",
            json={"suspended": False},
            headers=partner_auth(platform, "partner-three"),
        )
        assert lifted.json()["state"] == "paused_after_run_out"
        assert (await auto_reload_of(second, platform, account_id))["next_reload_at"] is None

        # The customer loads 7 iSC by hand: 7 days left, the threshold, so Auto-iSC reloads again (once: 8 days).
        await fund(first, platform, account_id, amount="7")
        reloads = await tap.wait_for(AutoReloadTriggered, account_id=account_id, count=3)
        assert reloads[-1].envelope.data["crossing"] == 5
        assert await count_of(platform, "reload_order", account_id) == 3


async def test_a_crossing_the_cap_refused_reloads_when_the_next_month_starts(
    platform: TestPlatform, tap: EventTap
) -> None:
    """The cap counts per calendar month: a crossing it refused, with the time left still under the threshold when
    the month turns, is tried again then, once, by one of the two replicas."""
    clock = MovableClock()
    # Funded 27 days before a month starts, burning 1 iSC a day: 30 days, so the run-out is 3 days into the month.
    month = auto_reload.next_month_start(clock.now() + 28 * DAY)
    clock.advance(month - 27 * DAY - clock.now())
    async with AsyncExitStack() as stack:
        first, second = await two_wallets(stack, platform, clock)
        account_id = await opened_by(first, platform, "partner-four")
        await fund(first, platform, account_id, amount="30")
        await publish_rental_changed(
            platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=RATE, version=1
        )
        account = await account_where(first, platform, account_id, burn_rate_per_day="1")
        depletes_at = datetime.fromisoformat(str(account["depletes_at"]))
        assert month < depletes_at < month + 4 * DAY

        # 5 days left, 2 before the month turns: 1 iSC at once, then the cap of 1 iSC refuses the next crossing.
        clock.advance(depletes_at - 5 * DAY - clock.now())
        accepted = await set_auto_reload(second, platform, account_id, amount="1", monthly_cap="1")
        assert accepted.status_code == 200, accepted.text
        [reload] = await tap.wait_for(AutoReloadTriggered, account_id=account_id)
        [failed] = await tap.wait_for(AutoReloadFailed, account_id=account_id)
        assert (reload.envelope.data["crossing"], failed.envelope.data["crossing"]) == (1, 2)
        assert failed.envelope.data["reason"] == "monthly_cap_reached"
        state = await auto_reload_of(first, platform, account_id)
        assert datetime.fromisoformat(str(state["next_reload_at"])) == month

        # Nothing more within the month; when it turns, the refused crossing reloads (a new crossing, 3), and the
        # one after it is refused by the new month's cap.
        clock.advance(month - timedelta(seconds=1) - clock.now())
        assert (await auto_reload_of(second, platform, account_id))["reloaded_this_month"] == "1"
        assert len(tap.of(AutoReloadTriggered, account_id=account_id)) == 1
        clock.advance(timedelta(seconds=2))
        reloads = await tap.wait_for(AutoReloadTriggered, account_id=account_id, count=2)
        failures = await tap.wait_for(AutoReloadFailed, account_id=account_id, count=2)
        assert [r.envelope.data["crossing"] for r in reloads] == [1, 3]
        assert [f.envelope.data["crossing"] for f in failures] == [2, 4]
        state = await auto_reload_of(first, platform, account_id)
        assert state["reloaded_this_month"] == "1"
        # The run-out comes before the month after, so nothing more is expected.
        assert state["next_reload_at"] is None
        assert await count_of(platform, "reload_order", account_id) == 2
        assert await count_of(platform, "reload_order", account_id, f"ordered_at >= '{month.isoformat()}'") == 1
        assert len(tap.of(AutoReloadTriggered, account_id=account_id)) == 2


async def test_a_partner_or_operator_ends_nothing_it_cannot_see_and_delete_ends_auto_reload(
    platform: TestPlatform, tap: EventTap
) -> None:
    async with running_service(WALLET, platform.settings(WalletSettings)) as wallet:
        account_id = await opened_by(wallet, platform, "partner-four")
        missing = await wallet.get(
            f"/v1/accounts/{account_id}/auto-reload", headers=platform.auth("customer", account_id=account_id)
        )
        assert (missing.status_code, missing.json()["state"], missing.json()["amount"]) == (200, "not_set", None)
        await fund(wallet, platform, account_id, amount="40")
        await publish_rental_changed(
            platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=RATE, version=1
        )
        await account_where(wallet, platform, account_id, burn_rate_per_day="1")
        assert (await set_auto_reload(wallet, platform, account_id, enabled=False)).json()["state"] == "disabled"
        # Announced for read models elsewhere (a forecast), in the setting's transaction.
        [changed] = await tap.wait_for(AutoReloadChanged, account_id=account_id)
        assert (changed.envelope.data["enabled"], changed.envelope.data["threshold_s"]) == (False, 7 * 86_400)
        other = await wallet.get(
            f"/v1/accounts/{account_id}/auto-reload", headers=platform.auth("customer", account_id=uuid.uuid4())
        )
        assert other.status_code == 404
        ended = await wallet.delete(
            f"/v1/accounts/{account_id}/auto-reload",
            headers={**platform.auth("customer", account_id=account_id), **idem()},
        )
        assert ended.status_code == 204
        ended_event = (await tap.wait_for(AutoReloadChanged, account_id=account_id, count=2))[-1]
        assert ended_event.envelope.data["amount"] is None
        again = await wallet.delete(
            f"/v1/accounts/{account_id}/auto-reload", headers=platform.auth("customer", account_id=account_id)
        )
        assert again.status_code == 204
        assert (await auto_reload_of(wallet, platform, account_id))["state"] == "not_set"


async def test_a_partner_sees_only_the_accounts_it_opened_or_was_assigned(
    platform: TestPlatform, tap: EventTap
) -> None:
    async with running_service(WALLET, platform.settings(WalletSettings)) as wallet:
        account_id = await opened_by(wallet, platform, "partner-five")
        opener, stranger = partner_auth(platform, "partner-five"), partner_auth(platform, "partner-six")
        assert (await wallet.get(f"/v1/accounts/{account_id}", headers=opener)).status_code == 200
        refused = await wallet.get(f"/v1/accounts/{account_id}", headers=stranger)
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
        assert account_id not in refused.text
        suspension = await wallet.put(
            f"/v1/accounts/{account_id}/auto-reload/suspension", json={"suspended": True}, headers=stranger
        )
        assert suspension.status_code == 404

        # Only an operator assigns; then the assigned partner sees the account and fulfils its reloads.
        path = f"/v1/accounts/{account_id}/assigned-partner"
        assert (await wallet.put(path, json={"partner": "partner-six"}, headers=stranger)).status_code == 403
        assigned = await wallet.put(path, json={"partner": "partner-six"}, headers=platform.auth("operator"))
        assert assigned.json() == {"account_id": account_id, "partner": "partner-six"}
        await tap.wait_for(AccountAssigned, account_id=account_id, partner="partner-six")
        assert (await wallet.get(f"/v1/accounts/{account_id}", headers=stranger)).status_code == 200
        assert (await wallet.get(f"/v1/accounts/{account_id}", headers=opener)).status_code == 200
