"""Fixtures for the fake Exchange: ``pytest_plugins = ["tests.fakes.exchange.fixtures"]``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exchangelib.protocol import BaseProtocol

from tests.fakes.base import TlsFiles, make_tls_files
from tests.fakes.exchange.client import isolated, trusting
from tests.fakes.exchange.server import FakeExchange


@pytest.fixture(scope="session")
def exchange_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, generated once per test session."""
    return make_tls_files(tmp_path_factory.mktemp("exchange-tls"), "exchange-fake")


@pytest.fixture
def exchange_fake() -> Iterator[FakeExchange]:
    """A running fake Exchange over http, in its own thread, with exchangelib's caches isolated."""
    with isolated(), FakeExchange() as fake:
        yield fake


@pytest.fixture
def exchange_tls_fake(exchange_tls: TlsFiles) -> Iterator[FakeExchange]:
    """A running fake Exchange over https whose certificate exchangelib trusts (for this test)."""
    with isolated(), FakeExchange(exchange_tls) as fake:
        BaseProtocol.HTTP_ADAPTER_CLS = trusting(exchange_tls.cert)
        yield fake
