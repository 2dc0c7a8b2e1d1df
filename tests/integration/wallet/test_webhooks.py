"""Webhooks from the wallet to real HTTP receivers: signed as Standard Webhooks says, only to the account's own
endpoints, retried on the wallet's clock until the receiver recovers, and then received once each.

Each test moves its wallet's clock days ahead (retries over three days), and a wallet's scheduler settles every
account of its database at the moved instant, so every test gets a platform (database, broker prefix) of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from scripts.smtp_sink import ReceivedMail, SmtpSink
from tests.harness import TestPlatform, clock_of, eventually, fresh_platform, ready, running_service
from tests.integration.wallet.outbound_rig import (
    Receiver,
    deliveries,
    deliveries_where,
    put_contacts,
    register_endpoint,
    serving_receiver,
    smtp_sink,
    verify_standard_webhook,
)
from tests.integration.wallet.wallet_rig import fund, open_account, publish_rental_changed
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET
from wallet.webhooks_domain import RETRY_DELAYS

MARGIN = timedelta(minutes=1)


@pytest.fixture
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    async with fresh_platform(*infrastructure, tmp_path_factory.mktemp("webhooks-wallet")) as own:
        yield own


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver() as running:
        yield running


def wallet_settings(platform: TestPlatform, **overrides: object) -> WalletSettings:
    return platform.settings(WalletSettings, webhook_allow_private_targets=True, **overrides)


async def test_deliveries_are_signed_as_standard_webhooks_and_reach_only_the_accounts_own_endpoints(
    platform: TestPlatform, receiver: Receiver
) -> None:
    async with running_service(WALLET, wallet_settings(platform)) as wallet:
        a, b = await open_account(wallet, platform, "Tenant A"), await open_account(wallet, platform, "Tenant B")
        a_customer, b_customer = (platform.auth("customer", account_id=x) for x in (a, b))
        endpoint_a = await register_endpoint(wallet, a_customer, a, f"{receiver.url}/a")
        # A partner registers B's endpoint, subscribed to credits only.
        endpoint_b = await register_endpoint(
            wallet, platform.auth("partner"), b, f"{receiver.url}/b", event_types=["credits.loaded"]
        )
        assert endpoint_a["secret"] != endpoint_b["secret"]
        # The secret is shown at registration only.
        read = await wallet.get(f"/v1/accounts/{a}/webhook-endpoints/{endpoint_a['id']}", headers=a_customer)
        assert read.status_code == 200
        assert "secret" not in read.json()
        assert endpoint_a["secret"] not in read.text

        await fund(wallet, platform, a, amount="10")
        await fund(wallet, platform, b, amount="20")
        await publish_rental_changed(platform, account_id=a, contract_id=uuid.uuid4(), rate_per_day=1, version=1)
        await publish_rental_changed(platform, account_id=b, contract_id=uuid.uuid4(), rate_per_day=1, version=1)

        await eventually(lambda: ready(receiver), until=lambda r: len(r.at("a")) >= 2 and len(r.at("b")) >= 1)
        now = clock_of(wallet).now()
        for path, secret, account in (("a", endpoint_a["secret"], a), ("b", endpoint_b["secret"], b)):
            for hit in receiver.at(path):
                payload = verify_standard_webhook(secret, hit.headers, hit.body)
                assert payload["data"]["account_id"] == account
                assert abs(int(hit.headers["webhook-timestamp"]) - now.timestamp()) < 300
                # The check can fail: another body, or the other endpoint's secret, does not verify.
                with pytest.raises(ValueError, match="no signature"):
                    verify_standard_webhook(secret, hit.headers, hit.body + b" ")
                other_secret = endpoint_b["secret"] if path == "a" else endpoint_a["secret"]
                with pytest.raises(ValueError, match="no signature"):
                    verify_standard_webhook(other_secret, hit.headers, hit.body)
        a_types = sorted(h.payload["type"] for h in receiver.at("a"))
        assert a_types == ["credits.loaded", "rental.changed"]
        assert [h.payload["data"]["amount"] for h in receiver.at("a") if h.payload["type"] == "credits.loaded"] == [
            "10"
        ]
        # Tenant isolation: nothing of A at B's endpoint and nothing of B at A's; B's filter held.
        assert all(a not in h.body.decode() for h in receiver.at("b"))
        assert all(b not in h.body.decode() for h in receiver.at("a"))
        assert [h.payload["type"] for h in receiver.at("b")] == ["credits.loaded"]

        # The delivery log says what the receiver answered.
        [*logged] = await deliveries_where(
            wallet, platform, a, endpoint_a["id"], count=2, until=lambda d: d["status"] == "delivered", what="log"
        )
        assert {d["message_id"] for d in logged} == {h.webhook_id for h in receiver.at("a")}
        assert all(d["log"][0]["status_code"] == 204 for d in logged)
        # Another account's customer learns nothing of A's endpoints, deliveries or replays.
        base = f"/v1/accounts/{a}/webhook-endpoints"
        for method, url in (
            ("GET", base),
            ("GET", f"{base}/{endpoint_a['id']}"),
            ("GET", f"{base}/{endpoint_a['id']}/deliveries"),
            ("POST", f"{base}/{endpoint_a['id']}/deliveries/{logged[0]['id']}/replay"),
            ("DELETE", f"{base}/{endpoint_a['id']}"),
        ):
            refused = await wallet.request(method, url, headers=b_customer)
            assert refused.status_code == 404, (method, url, refused.text)
            assert endpoint_a["id"] not in refused.text
        # B's own path cannot reach A's endpoint either.
        crossed = await wallet.get(f"/v1/accounts/{b}/webhook-endpoints/{endpoint_a['id']}", headers=b_customer)
        assert crossed.status_code == 404


async def test_a_receiver_that_fails_for_a_while_gets_every_event_exactly_once_after_it_recovers(
    platform: TestPlatform, receiver: Receiver
) -> None:
    receiver.failing.add("flaky")
    async with running_service(WALLET, wallet_settings(platform)) as wallet:
        clock = clock_of(wallet)
        account = await open_account(wallet, platform)
        customer = platform.auth("customer", account_id=account)
        endpoint = await register_endpoint(wallet, customer, account, f"{receiver.url}/flaky")
        await fund(wallet, platform, account, amount="100")
        await fund(wallet, platform, account, amount="50")
        # A slow burn (1 iSC a day over 150): no warning or run-out in the days this test moves through.
        await publish_rental_changed(
            platform, account_id=account, contract_id=uuid.uuid4(), rate_per_day=1_000_000, version=1
        )

        def failed_attempts(n: int) -> object:
            return lambda d: d["status"] == "pending" and len(d["log"]) == n and d["log"][-1]["status_code"] == 503

        await deliveries_where(wallet, platform, account, endpoint["id"], count=3, until=failed_attempts(1), what="1st")
        # Three more failing attempts, each when the wallet's clock reaches its retry instant.
        for n, delay in enumerate(RETRY_DELAYS[:3], start=2):
            clock.advance(delay + MARGIN)
            await deliveries_where(
                wallet, platform, account, endpoint["id"], count=3, until=failed_attempts(n), what=f"attempt {n}"
            )
        assert len(receiver.at("flaky")) == 12
        assert not receiver.accepted("flaky")

        receiver.failing.clear()
        clock.advance(RETRY_DELAYS[3] + MARGIN)
        logged = await deliveries_where(
            wallet, platform, account, endpoint["id"], count=3, until=lambda d: d["status"] == "delivered", what="ok"
        )
        ids = {d["message_id"] for d in logged}
        assert len(ids) == 3
        assert receiver.accepted("flaky") == dict.fromkeys(ids, 1)
        # Every attempt of an event carried the same webhook-id, so the receiver could deduplicate.
        assert {h.webhook_id for h in receiver.at("flaky")} == ids

        # Long after every retry instant, a new event arrives; the delivered ones were not sent again.
        clock.advance(timedelta(days=4))
        await fund(wallet, platform, account, amount="1")
        logged = await deliveries_where(
            wallet, platform, account, endpoint["id"], count=4, until=lambda d: d["status"] == "delivered", what="4th"
        )
        accepted = receiver.accepted("flaky")
        assert set(accepted) == {d["message_id"] for d in logged}
        assert set(accepted.values()) == {1}


async def test_an_endpoint_failing_for_three_days_is_disabled_its_customer_told_and_replay_recovers_it(
    platform: TestPlatform, receiver: Receiver
) -> None:
    receiver.failing.add("down")
    async with (
        smtp_sink() as (sink, smtp_port),
        running_service(WALLET, wallet_settings(platform, smtp_port=smtp_port)) as wallet,
    ):
        clock = clock_of(wallet)
        account = await open_account(wallet, platform)
        customer = platform.auth("customer", account_id=account)
        await put_contacts(wallet, platform, account, ["ops@tenant-a.example"])
        endpoint = await register_endpoint(wallet, customer, account, f"{receiver.url}/down")
        await fund(wallet, platform, account, amount="5")  # nothing burns: only the clock moves
        [first] = await deliveries_where(
            wallet, platform, account, endpoint["id"], count=1, until=lambda d: len(d["log"]) == 1, what="1st"
        )
        for n, delay in enumerate(RETRY_DELAYS, start=2):
            clock.advance(delay + MARGIN)
            await deliveries_where(
                wallet, platform, account, endpoint["id"], count=1, until=lambda d, n=n: len(d["log"]) == n, what=f"{n}"
            )
        [given_up] = await deliveries(wallet, platform, account, endpoint["id"])
        assert (given_up["status"], given_up["attempts"]) == ("failed", 10)
        span = datetime.fromisoformat(given_up["log"][-1]["at"]) - datetime.fromisoformat(given_up["log"][0]["at"])
        assert span >= timedelta(days=3)

        url = f"/v1/accounts/{account}/webhook-endpoints/{endpoint['id']}"
        disabled = (await wallet.get(url, headers=customer)).json()
        assert disabled["status"] == "disabled"
        assert disabled["disabled_reason"]
        [mail] = await eventually(
            lambda: _mails(sink, "ops@tenant-a.example"), until=lambda m: len(m) == 1, what="the disabled notice"
        )
        assert "disabled" in mail.subject.lower()
        assert endpoint["url"] in mail.text
        assert endpoint["url"] in mail.html

        # Disabled: a replay waits for re-enabling; re-enabled and fixed, the replay delivers the same webhook-id.
        replay = f"{url}/deliveries/{first['id']}/replay"
        assert (await wallet.post(replay, headers=customer)).json()["code"] == "webhook_endpoint_disabled"
        receiver.failing.clear()
        enabled = await wallet.post(f"{url}/reactivation", headers=customer)
        assert enabled.json()["status"] == "enabled"
        replayed = await wallet.post(replay, headers=customer)
        assert replayed.status_code == 202, replayed.text
        await deliveries_where(
            wallet, platform, account, endpoint["id"], count=1, until=lambda d: d["status"] == "delivered", what="ok"
        )
        assert receiver.accepted("down") == {first["message_id"]: 1}
        assert len(sink.to("ops@tenant-a.example")) == 1


async def _mails(sink: SmtpSink, address: str) -> list[ReceivedMail]:
    return sink.to(address)
