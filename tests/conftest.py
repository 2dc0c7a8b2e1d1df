"""Session fixtures: one test platform (database + broker prefix) per test run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.harness import TestPlatform, create_platform, drop_platform, infrastructure_urls


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[tuple[str, str]]:
    with infrastructure_urls() as urls:
        yield urls


@pytest.fixture(scope="session")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    admin_url, amqp_url = infrastructure
    dev_dir: Path = tmp_path_factory.mktemp("dev-issuer")
    test_platform = await create_platform(admin_url, amqp_url, dev_dir)
    try:
        yield test_platform
    finally:
        await drop_platform(test_platform)
