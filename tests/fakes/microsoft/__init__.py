"""A fake Microsoft identity platform (v2.0) and Microsoft Graph v1.0 calendar API, over TLS.

One server on the shared base (:mod:`tests.fakes.base`) at ``https://127.0.0.1:<port>`` with a
self-signed certificate (IP SAN 127.0.0.1) generated at test time serves both halves, so msal's
https-only rule is met and the production code's ``ca_bundle`` trust is exercised for identity
and Graph alike:

* identity: ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/authorize``
  (auto-approves: redirects with ``code`` and ``state``; the ID token echoes the ``nonce``),
  ``/{tenant}/oauth2/v2.0/token`` (``authorization_code`` with a PKCE S256 check and single-use
  codes, ``refresh_token``, client secret checked, ``invalid_grant`` for revoked refresh tokens);
* Graph under ``/v1.0``: ``/me``, ``/me/calendars``, ``/me/calendars/{id}/calendarView``
  (``$select``, ``$top``, ``Prefer: outlook.timezone``, ``@odata.nextLink`` paging with a small
  page size), ``POST /me/calendars/{id}/events``, ``DELETE /me/events/{id}``, bearer checks and
  permission checks per endpoint.

Knobs (all plain attributes or methods of :class:`FakeMicrosoft`): ``page_size``, ``latency``
(seconds before each Graph answer), ``identity_latency`` (the same for the OpenID configuration and
token endpoints), ``access_token_lifetime``,
``fail_next(n, status=..., retry_after=..., calendar=..., delay=...)`` (and its shorthands
``throttle(n, retry_after=..., status=429)``, ``fail(n, status=500)``),
``fail_token_requests(n, status=503)``, ``FakeCalendar.fault = 403 | 404``,
``revoke_refresh_tokens(email)``, ``revoke_refresh_token(token)``,
``invalidate_access_tokens(email)``, ``deny_consent``, ``withheld_permissions``. Observations:
``calls`` (Graph call log), ``token_requests``, ``max_in_flight`` (per mailbox),
``openid_configuration_requests``, ``invitations``, ``cancellations``, ``refresh_tokens(email)``.

It runs on the test's loop (``await fake.start()``) or on a loop of its own in a thread
(``with fake:``), which blocking clients need. Register the fixtures with
``pytest_plugins = ["tests.fakes.microsoft"]``: ``microsoft_tls`` (session), ``microsoft_fake``,
``microsoft_settings``. Modules: ``server.py`` (identity, knobs), ``graph_api.py`` (Graph, data).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.settings import MicrosoftSettings
from tests.fakes.base import TlsFiles, make_tls_files
from tests.fakes.microsoft.graph_api import FakeCalendar, FakeEvent, FakeUser, GraphCall
from tests.fakes.microsoft.server import CLIENT_ID, CLIENT_SECRET, DEFAULT_EMAIL, TENANT, FakeMicrosoft

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEFAULT_EMAIL",
    "TENANT",
    "FakeCalendar",
    "FakeEvent",
    "FakeMicrosoft",
    "FakeUser",
    "GraphCall",
    "TlsFiles",
    "make_tls_files",
    "microsoft_fake",
    "microsoft_settings",
    "microsoft_tls",
]


# ----------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def microsoft_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, generated once per test session."""
    return make_tls_files(tmp_path_factory.mktemp("microsoft-tls"), "microsoft-fake")


@pytest_asyncio.fixture
async def microsoft_fake(microsoft_tls: TlsFiles) -> AsyncIterator[FakeMicrosoft]:
    """A running fake identity platform + Graph with one user (``host@contoso.example``)."""
    fake = FakeMicrosoft(microsoft_tls)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def microsoft_settings(microsoft_fake: FakeMicrosoft) -> MicrosoftSettings:
    """MicrosoftSettings pointing at ``microsoft_fake`` and trusting its certificate."""
    return microsoft_fake.settings()
