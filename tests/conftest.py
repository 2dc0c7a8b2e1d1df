"""Session fixtures: one test platform (database + broker prefix) per test run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.harness import TestPlatform, fresh_platform, infrastructure_urls

# The generated OpenAPI clients are code the tests use, not tests: their `test_clock*` modules (the wallet's test
# clocks) only look like ones.
collect_ignore = ["clients"]


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[tuple[str, str]]:
    with infrastructure_urls() as urls:
        yield urls


@pytest.fixture(scope="session")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    async with fresh_platform(*infrastructure, tmp_path_factory.mktemp("dev-issuer")) as test_platform:
        yield test_platform
