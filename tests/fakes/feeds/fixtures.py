"""Fixtures for the fake feed host: ``pytest_plugins = ["tests.fakes.feeds.fixtures"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.fakes.base import TlsFiles, make_tls_files
from tests.fakes.feeds.server import FakeFeeds


@pytest.fixture(scope="session")
def feeds_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, made once per test session."""
    return make_tls_files(tmp_path_factory.mktemp("feeds-tls"), "feeds-fake")


@pytest_asyncio.fixture
async def feeds(feeds_tls: TlsFiles) -> AsyncIterator[FakeFeeds]:
    """A running fake feed host over https, on the test's event loop."""
    fake = FakeFeeds(tls=feeds_tls)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
