"""A fake Bot Framework for the Teams channel, over TLS on 127.0.0.1, on a loop of its own.

One server on the shared base (:mod:`tests.fakes.base`) at ``https://127.0.0.1:<port>`` with a
self-signed certificate (trusted by the app through ``TEAMS_CA_BUNDLE``). It runs in its own
thread (``with fake:``) because the app's msal calls block a worker thread while they wait for it.

* OpenID metadata ``/v1/.well-known/openidconfiguration`` -> the key set ``/v1/.well-known/keys``
  (RS256 JSON Web Keys generated at start, each with its ``endorsements``; :attr:`keys` holds
  :class:`SigningKey` s, so a test can rotate keys or change endorsements);
* the bot's token endpoint: ``/{tenant}/v2.0/.well-known/openid-configuration`` and
  ``POST /{tenant}/oauth2/v2.0/token`` (client credentials with the app id and password, scope
  ``https://api.botframework.com/.default``);
* a connector under ``/teams/v3/conversations`` that checks the bot's bearer token and records in
  :attr:`sent` what the bot sends: replies (``POST .../activities/{id}``, unknown ids accepted, as
  proactive messages use random ones), new messages, updates (``PUT``); ``POST`` creates a 1:1
  conversation; ``GET .../members/{id}`` answers :attr:`members`. ``connector_latency`` delays it,
  ``fail_connector`` scripts error statuses, ``auth_latency`` delays metadata, keys and tokens.

Teams' side: :meth:`FakeBotFramework.activity`, :meth:`message` (``mention=True`` for channels),
:meth:`invoke` build activities; :meth:`headers` signs one (``Authorization: Bearer``) with
claims a test may override (``aud``, ``iss``, ``serviceurl``, lifetime, key, kid).
:meth:`env` gives the app's settings. Fixtures: ``teams_tls`` (session), ``teams_fake``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.base import TlsFiles, make_tls_files
from tests.fakes.teams.server import (
    APP_ID,
    BOT_ID,
    ISSUER,
    TENANT,
    FakeBotFramework,
    Sent,
    SigningKey,
)

__all__ = ["APP_ID", "BOT_ID", "ISSUER", "TENANT", "FakeBotFramework", "Sent", "SigningKey",
           "teams_fake", "teams_tls"]


@pytest.fixture(scope="session")
def teams_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, generated once per test session."""
    return make_tls_files(tmp_path_factory.mktemp("teams-tls"), "teams-fake")


@pytest.fixture
def teams_fake(teams_tls: TlsFiles) -> Iterator[FakeBotFramework]:
    """A running fake Bot Framework (own thread) with one member, Ulla (``29:ulla``)."""
    with FakeBotFramework(teams_tls) as fake:
        fake.add_member("29:ulla", "Ulla Jensen", email="ulla@example.com")
        yield fake
