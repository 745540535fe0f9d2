"""exchangelib pointed at a :class:`~tests.fakes.exchange.server.FakeExchange`, never autodiscovering.

exchangelib caches ``Protocol`` objects process-wide per endpoint and credentials (failures too),
and its HTTP adapter class and timeout are class attributes: :func:`isolated` restores all three
around a test. :func:`trusting` makes requests trust the fake's self-signed certificate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests.adapters
from exchangelib import BASIC, DELEGATE, NTLM, Account, Configuration, Credentials, FailFast, Version
from exchangelib.protocol import BaseProtocol, CachingProtocol

from tests.fakes.exchange.server import DEFAULT_EMAIL, DEFAULT_PASSWORD, FakeExchange

__all__ = ["BASIC", "NTLM", "account", "config", "isolated", "trusting"]


@contextmanager
def isolated() -> Iterator[None]:
    """Forget cached protocols before and after; restore the adapter class and timeout."""
    adapter, timeout = BaseProtocol.HTTP_ADAPTER_CLS, BaseProtocol.TIMEOUT
    CachingProtocol.clear_cache()
    try:
        yield
    finally:
        CachingProtocol.clear_cache()
        BaseProtocol.HTTP_ADAPTER_CLS, BaseProtocol.TIMEOUT = adapter, timeout


def trusting(cert: Path) -> type[requests.adapters.HTTPAdapter]:
    """An HTTPAdapter class that verifies servers against ``cert`` only."""

    ca = str(cert)

    class Trusting(requests.adapters.HTTPAdapter):
        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            super().cert_verify(conn, url, ca, cert)

        def get_connection_with_tls_context(
            self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
        ) -> Any:
            return super().get_connection_with_tls_context(request, ca, proxies=proxies, cert=cert)

    return Trusting


def config(
    fake: FakeExchange | str,
    username: str = DEFAULT_EMAIL,
    password: str = DEFAULT_PASSWORD,
    *,
    auth_type: str = NTLM,
    version: Version | None = None,
) -> Configuration:
    """A Configuration for the fake's endpoint (or a URL), FailFast, no autodiscover."""
    return Configuration(
        service_endpoint=fake if isinstance(fake, str) else fake.url,
        credentials=Credentials(username, password),
        auth_type=auth_type,
        version=version,
        retry_policy=FailFast(),
    )


def account(
    fake: FakeExchange | str,
    email: str = DEFAULT_EMAIL,
    *,
    username: str | None = None,
    password: str = DEFAULT_PASSWORD,
    auth_type: str = NTLM,
    version: Version | None = None,
    default_timezone: Any = None,
) -> Account:
    """An exchangelib Account (DELEGATE) for ``email``, signing in as ``username`` (default: ``email``)."""
    kwargs = {} if default_timezone is None else {"default_timezone": default_timezone}
    return Account(
        email,
        config=config(fake, username or email, password, auth_type=auth_type, version=version),
        autodiscover=False,
        access_type=DELEGATE,
        **kwargs,
    )
