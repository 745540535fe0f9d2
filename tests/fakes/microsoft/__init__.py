"""A fake Microsoft identity platform (v2.0) and Microsoft Graph v1.0 calendar API, over TLS.

One server on the shared base (:mod:`tests.fakes.base`) at ``https://127.0.0.1:<port>`` with a
self-signed certificate (IP SAN 127.0.0.1) generated at test time serves both halves, so msal's
https-only rule is met and the production code's ``ca_bundle`` trust is exercised for identity
and Graph alike:

* identity: ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/authorize``
  (auto-approves: redirects with ``code`` and ``state``; the ID token echoes the ``nonce``),
  ``/{tenant}/oauth2/v2.0/token`` (``authorization_code`` with a PKCE S256 check and single-use
  codes, ``refresh_token``, client secret checked, ``invalid_grant`` for revoked refresh tokens);
* Graph under ``/v1.0``: ``/me``, ``/me/calendars`` (GET; POST ``{name}`` creates a calendar the
  user owns, 409 ``ErrorFolderExists`` for a taken name), ``DELETE /me/calendars/{id}`` (not the
  default one), ``/me/calendars/{id}/calendarView`` (``$select``, ``$top``,
  ``$expand=singleValueExtendedProperties($filter=id eq '...')``, ``Prefer: outlook.timezone``,
  ``@odata.nextLink`` paging with a small page size), ``POST /me/events`` and
  ``/me/calendars/{id}/events`` (``transactionId``, ``singleValueExtendedProperties``),
  ``GET``/``PATCH``/``DELETE`` ``/me/events/{id}`` and ``/me/calendars/{id}/events/{id}``;
  delta: ``/me/calendarView/delta`` and ``/me/calendars/{id}/calendarView/delta``
  (``startDateTime``/``endDateTime`` on the first request only, ``Prefer: odata.maxpagesize``,
  opaque ``$skiptoken``/``$deltatoken`` links, ``@removed`` for deleted or out-of-window events,
  400 ``ErrorInvalidUrlQuery`` for ``$select``/``$expand``/``$filter``/``$orderby``/``$search``/
  ``$top``, 410 ``SyncStateNotFound`` for expired tokens); subscriptions: ``POST/GET
  /subscriptions``, ``GET``/``PATCH``/``DELETE /subscriptions/{id}``,
  ``POST /subscriptions/{id}/reauthorize``, with Graph's validation handshake (``validationToken``
  echoed as ``text/plain`` within 10 s, else 400 ``ValidationError``), the 10080-minute limit for
  Outlook events, change notifications POSTed to ``notificationUrl`` and lifecycle notifications
  to ``lifecycleNotificationUrl``; bearer checks and permission checks per endpoint
  (Calendars.Read* to read, Calendars.ReadWrite to write).

Events carry ``attendees`` (``emailAddress``, ``type``, ``status.response``), ``organizer``,
``isOrganizer``, ``showAs``, ``isCancelled``, ``createdDateTime``, ``lastModifiedDateTime``,
``changeKey`` (also in ``@odata.etag``), ``iCalUId``, ``type`` (``singleInstance``,
``occurrence``, ``exception``, ``seriesMaster``), ``seriesMasterId``, and their
``singleValueExtendedProperties`` when expanded. Every change, through Graph or a knob, gets a
new ``changeKey`` and ``lastModifiedDateTime`` and feeds delta and the subscriptions.

Knobs (all plain attributes or methods of :class:`FakeMicrosoft`): ``page_size``, ``latency``
(seconds before each Graph answer), ``identity_latency`` (the same for the OpenID configuration and
token endpoints), ``access_token_lifetime``,
``fail_next(n, status=..., retry_after=..., calendar=..., delay=...)`` (and its shorthands
``throttle(n, retry_after=..., status=429)``, ``fail(n, status=500)``),
``fail_token_requests(n, status=503)``, ``FakeCalendar.fault = 403 | 404``,
``revoke_refresh_tokens(email)``, ``revoke_refresh_token(token)``,
``invalidate_access_tokens(email)``, ``deny_consent``, ``withheld_permissions``. The user's own
edits in Outlook: ``add_event(calendar, start, end, *, subject, show_as, is_cancelled, response,
**fields)`` (``fields``: other :class:`FakeEvent` fields such as ``attendees``, ``organizer``,
``ical_uid``, ``event_type``, ``series_master_id``, ``extended_properties``),
``update_event(event_or_id, **fields)``, ``delete_event(event_or_id)``, ``add_calendar(...)``.
Sync: ``delta_page_size`` (10, without ``Prefer: odata.maxpagesize``), ``expire_delta_tokens()``,
``subscriptions`` (id -> :class:`~tests.fakes.microsoft.subscriptions.Subscription`),
``expire_subscriptions(subscription_id=None)``, ``send_lifecycle(subscription_id,
"reauthorizationRequired" | "subscriptionRemoved" | "missed")``, ``allow_http_notification_urls``
(default True; Graph itself requires https), ``max_subscription_minutes`` (10080),
``validation_timeout`` (10 s), ``delivery_timeout`` (3 s), ``retry_delays`` ((0.05, 0.1, 0.2) s),
``deliveries`` (every attempt: validation, change, lifecycle, as a
:class:`~tests.fakes.webhooks.Delivery` with its status), ``await settle(count, kind=None,
key=None, within=5.0)``. Observations: ``calls`` (Graph call log), ``token_requests``,
``max_in_flight`` (per mailbox), ``openid_configuration_requests``, ``invitations``,
``cancellations``, ``refresh_tokens(email)``.

It runs on the test's loop (``await fake.start()``) or on a loop of its own in a thread
(``with fake:``), which blocking clients need. Register the fixtures with
``pytest_plugins = ["tests.fakes.microsoft"]``: ``microsoft_tls`` (session), ``microsoft_fake``,
``microsoft_settings``. Modules: ``server.py`` (identity, knobs), ``model.py`` (data),
``graph_api.py`` (reads), ``events_api.py`` (writes, change knobs), ``delta_api.py`` (delta),
``subscriptions.py`` (subscriptions, notifications); outgoing calls through
:mod:`tests.fakes.webhooks`. :class:`tests.support.graph_client.GraphClient` wraps Slotbot's own
Graph client with a token from the fake, for tests that talk to Graph directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.settings import MicrosoftSettings
from tests.fakes.base import TlsFiles, make_tls_files
from tests.fakes.microsoft.graph_api import FakeCalendar, FakeEvent, FakeUser, GraphCall
from tests.fakes.microsoft.model import DEFAULT_EMAIL
from tests.fakes.microsoft.server import CLIENT_ID, CLIENT_SECRET, TENANT, FakeMicrosoft
from tests.fakes.microsoft.subscriptions import Subscription

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
    "Subscription",
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
