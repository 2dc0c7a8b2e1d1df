"""E-mail notices through a real SMTP sink (the one `make run` starts): low-balance warnings, the run-out and the
restoration reach the account's contact addresses once each, in plain text and HTML, with two wallet replicas
competing for the events and the sending.

The wallets' clocks move days ahead, so the test has a platform of its own (see test_run_out_on_the_clock.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from shared.money import MICRO_PER_ISC
from tests.harness import TestPlatform, clock_of, eventually, fresh_platform, ready, running_service
from tests.integration.wallet.outbound_rig import put_contacts, smtp_sink
from tests.integration.wallet.wallet_rig import fund, open_account, start_burning
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

DAY = timedelta(days=1)
MARGIN = timedelta(minutes=1)
CONTACTS = ["billing@acme.example", "ops@acme.example"]


@pytest.fixture
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    async with fresh_platform(*infrastructure, tmp_path_factory.mktemp("notices-wallet")) as own:
        yield own


async def test_warnings_run_out_and_restoration_are_mailed_once_each_to_every_contact_with_two_replicas(
    platform: TestPlatform,
) -> None:
    async with smtp_sink() as (sink, smtp_port):
        settings = platform.settings(WalletSettings, smtp_port=smtp_port, low_balance_thresholds_s=[2 * 86_400, 86_400])
        async with running_service(WALLET, settings) as one, running_service(WALLET, settings) as two:
            clocks = [clock_of(one), clock_of(two)]

            def move_to(instant: datetime) -> None:
                # Both replicas' clocks, by the same amount.
                by = instant - clocks[0].now()
                for clock in clocks:
                    clock.advance(by)

            async def notices() -> list[dict[str, object]]:
                response = await one.get(
                    f"/v1/accounts/{account}/email-notices", headers=platform.auth("customer", account_id=account)
                )
                assert response.status_code == 200, response.text
                items: list[dict[str, object]] = response.json()["items"]
                return items

            async def mails(count: int, what: str) -> list[str]:
                found = await eventually(
                    lambda: ready(sink.messages), until=lambda m: len(m) >= count, within=20, what=what
                )
                # Marked sent before the clocks move on: a jump of days past a sender's lease, while it is
                # between the server's acceptance and its mark, would be a sender presumed dead.
                await eventually(
                    notices, until=lambda items: len(items) == count and all(n["status"] == "sent" for n in items)
                )
                return [m.subject for m in found]

            account = await open_account(one, platform, "Acme Rentals")
            await put_contacts(two, platform, account, CONTACTS)
            await fund(one, platform, account, amount="3")
            depletes_at = await start_burning(two, platform, account, rate_per_day=MICRO_PER_ISC)
            assert not sink.messages  # a redemption is not a notice

            move_to(depletes_at - 2 * DAY + MARGIN)
            assert (await mails(1, "the 2-day warning"))[0].startswith("Your credit runs out in 1 day 23 hours")
            move_to(depletes_at - DAY + MARGIN)
            assert (await mails(2, "the 1-day warning"))[1].startswith("Your credit runs out in 23 hours")
            move_to(depletes_at + MARGIN)
            assert (await mails(3, "the run-out"))[2] == "Your credit ran out: rental stopped"
            # Ten days of credit: more than the widest threshold, so no warning follows at once.
            await fund(two, platform, account, amount="10")
            assert (await mails(4, "the restoration"))[3] == "Your credit is back: rental runs again"

            sent = await eventually(
                notices, until=lambda items: len(items) == 4 and all(n["status"] == "sent" for n in items)
            )
            # Once each: four notices, four messages, no copy from the other replica.
            assert len(sink.messages) == 4
            assert len({m.message_id for m in sink.messages}) == 4
            assert {m.message_id for m in sink.messages} == {f"<{n['id']}@wallet.rental.invalid>" for n in sent}
            for message in sink.messages:
                assert sorted(message.rcpt_tos) == CONTACTS
                assert "Acme Rentals" in message.text
                assert "Acme Rentals" in message.html
                assert message.html.lstrip().startswith("<!DOCTYPE html>")
                assert account in message.text
            assert "the balance is 10 iSC" in sink.messages[3].text
