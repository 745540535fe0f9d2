"""Fixtures for the CalDAV tests: ``pytest_plugins = ["tests.fakes.caldav.fixtures"]``.

``radicale`` (one server per test session; each test makes its own accounts), ``caldav_tls`` (the
proxy's certificate), ``caldav_proxy`` (a counting https proxy in front of it, on the test's loop)
and ``caldav_account`` (a fresh account).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.fakes.base import TlsFiles, make_tls_files
from tests.fakes.caldav import Account, CalDavProxy, Radicale


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """A Radicale server for the whole session."""
    server = Radicale(tmp_path_factory.mktemp("radicale")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def caldav_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, for the proxy."""
    return make_tls_files(tmp_path_factory.mktemp("caldav-tls"), "caldav-fake")


@pytest_asyncio.fixture
async def caldav_proxy(radicale: Radicale, caldav_tls: TlsFiles) -> AsyncIterator[CalDavProxy]:
    """The counting https proxy in front of Radicale, on the test's event loop."""
    proxy = CalDavProxy(radicale.url, tls=caldav_tls)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.fixture
def caldav_account(radicale: Radicale) -> Account:
    """A fresh Radicale account."""
    return radicale.account()
