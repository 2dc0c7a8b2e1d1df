"""The scripted rehearsal (`python -m scripts.rehearse`, issue 18) against the four real services and a sandbox
gateway: seven weeks, day by day, in well under two minutes.

The phone is rented at the clock's midnight on 45 days of credit: the gateway raises each rung of the warning
ladder once, when the day-by-day advance passes it, stops the phone at the clocked run-out to the second (its
bundle's `exp`), and runs it again after the top-up.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rich.console import Console

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from scripts import rehearse
from scripts.demo_seed import Api
from shared.config import DEV_ISSUER
from shared.dev_issuer import load_or_create_key
from tests.harness import TestPlatform, free_port, serving_service
from tests.integration.license_distributor.conftest import serving_distributor
from wallet.config import Settings as WalletSettings
from wallet.domain import DEFAULT_LOW_BALANCE_THRESHOLDS_S
from wallet.main import SPEC as WALLET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

START = datetime(2027, 6, 1, tzinfo=UTC)
DAY_S = 86_400


def first_midnight_from(at: datetime) -> datetime:
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == at else midnight + timedelta(days=1)


@pytest.fixture(scope="module")
async def urls(platform: TestPlatform) -> AsyncIterator[dict[str, str]]:
    """The four services on real ports (the rehearsal is an HTTP client like any other)."""
    async with AsyncExitStack() as stack:
        found: dict[str, str] = {}
        for name, spec, settings in (
            ("wallet", WALLET, WalletSettings),
            ("contracts", CONTRACTS, ContractsSettings),
            ("provisioning", PROVISIONING, ProvisioningSettings),
        ):
            found[name] = await stack.enter_async_context(
                serving_service(spec, platform.settings(settings, http_port=free_port()))
            )
        found["licensing"] = (await stack.enter_async_context(serving_distributor(platform))).url
        yield found


async def test_the_rehearsal_shows_every_warning_the_run_out_and_the_restoration_at_their_clocked_instants(
    urls: dict[str, str], platform: TestPlatform
) -> None:
    output = io.StringIO()
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=20) as client:
        api = Api(client, urls, load_or_create_key(platform.dev_dir), DEV_ISSUER)
        seen = await rehearse.rehearse(
            api, console=Console(file=output, width=120), distributor_url=urls["licensing"], start=START
        )
    took_s = time.monotonic() - started

    # Funded for 45 days at 24 iSC a day: the wallet's run-out is within the last second of the 45th day (it
    # rounds the burn of each microsecond its own way; the exact instant is its to say).
    run_out = seen.depletes_at
    assert run_out is not None
    assert START + timedelta(days=rehearse.CREDIT_DAYS, seconds=-1) < run_out <= START + timedelta(days=45)
    # The 7-week rung had passed when the phone was rented on 45 days: the phone warns at once. Every rung still
    # ahead is raised once and in order, at the first step of the clock at or past its instant (a day at a time).
    ahead = [t for t in DEFAULT_LOW_BALANCE_THRESHOLDS_S if t <= rehearse.CREDIT_DAYS * DAY_S]
    ladder = [7 * 7 * DAY_S, *ahead]
    expected = [START, *(first_midnight_from(run_out - timedelta(seconds=t)) for t in ahead)]
    assert [at for at, _ in seen.warnings] == expected
    assert [abs(left - t) <= 1 for (_, left), t in zip(seen.warnings, ladder, strict=True)] == [True] * len(ladder)
    # The phone stops at the run-out, to the second of the bundle's `exp`.
    assert seen.rebooted_at == run_out.replace(microsecond=0)
    # Topped up once the clock stood past the run-out, at the end of the rehearsed weeks: running again then.
    assert seen.restored_at == START + timedelta(days=rehearse.DAYS)
    printed = output.getvalue()
    assert "run-out: the gateway reboots" in printed
    assert "the phone runs again" in printed
    assert printed.count("the phone warns") == len(ladder)
    assert took_s < 120, f"the rehearsal took {took_s:.1f} s"


async def test_a_rehearsal_shorter_than_the_credit_ends_without_a_run_out(
    urls: dict[str, str], platform: TestPlatform
) -> None:
    output = io.StringIO()
    async with httpx.AsyncClient(timeout=20) as client:
        api = Api(client, urls, load_or_create_key(platform.dev_dir), DEV_ISSUER)
        seen = await rehearse.rehearse(
            api, console=Console(file=output, width=120), distributor_url=urls["licensing"], start=START, days=2
        )
    assert seen.rebooted_at is None
    assert seen.restored_at is None
    assert "no run-out, nothing to top up" in output.getvalue()
