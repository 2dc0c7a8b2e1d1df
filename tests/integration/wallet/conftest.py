"""What every wallet test may ask for: a tap on what the wallet publishes (the rest is in `wallet_rig`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.harness import EventTap, TestPlatform, event_tap


@pytest.fixture
async def tap(platform: TestPlatform) -> AsyncIterator[EventTap]:
    """Every event the wallet publishes during the test, as a consumer receives it."""
    async with event_tap(platform, "wallet.#") as watching:
        yield watching
