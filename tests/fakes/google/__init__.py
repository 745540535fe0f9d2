"""A fake Google: OAuth 2.0 (authorize, token, revoke) and Calendar API v3, on 127.0.0.1 port 0.

It speaks Google's wire protocol closely enough that the real client libraries
(google-auth-oauthlib, google-auth, google-api-python-client) talk to it unchanged:

* ``GET /o/oauth2/v2/auth`` auto-approves (a "consent" knob can untick scopes or deny) and
  redirects to the exact ``redirect_uri`` with ``code``, ``state`` and ``scope``;
* ``POST /token`` serves the ``authorization_code`` grant (PKCE S256 checked, single-use codes,
  exact redirect URI) and the ``refresh_token`` grant, with Google's error bodies
  (``invalid_grant``, ``invalid_client``, ``redirect_uri_mismatch``); client authentication by
  HTTP Basic or in the body, as Google accepts both;
* ``POST /revoke`` revokes a refresh token or access token (and the whole grant with it);
* ``/calendar/v3/``: ``users/me/calendarList`` (paging), ``users/me/calendarList/{id}``,
  ``freeBusy`` (the 50-calendar and 90-day limits, per-calendar ``notFound``),
  ``calendars`` POST (``calendars.insert``: a secondary calendar the user owns),
  ``calendars/{id}`` GET/DELETE, ``calendars/{id}/events`` GET (``events.list`` with
  ``syncToken``/``nextSyncToken``, ``pageToken``/``maxResults``, ``showDeleted``, ``timeMin``,
  ``timeMax``, ``q``, ``updatedMin``, ``iCalUID``, ``orderBy``, ``private/sharedExtendedProperty``;
  the last eight and ``showDeleted=false`` answer 400 ``syncTokenWithRequestRestrictions`` beside a
  sync token; an invalidated token 410 ``fullSyncRequired``) and POST (``events.insert``; with
  ``conferenceDataVersion=1`` a ``conferenceData.createRequest`` makes a Google Meet, see
  ``conference.py``: ``fake.conferencing.pending`` answers ``pending`` first, a calendar's
  ``allowed_conference_types`` limits the solution types),
  ``calendars/{id}/events/{eventId}`` GET/PATCH/PUT/DELETE (``sendUpdates`` recorded),
  ``calendars/{id}/events/watch`` POST (a push channel: ``sync`` then ``exists`` notifications
  POSTed to its address over HTTP, Google's ``X-Goog-*`` headers, retries on 5xx) and
  ``channels/stop`` POST. Every call checks the Bearer token and that its scopes allow the method
  (the scopes the Calendar v3 discovery document lists), answering 401/403 with Google's bodies.

Events carry what Google fills in: ``etag``, ``updated``, ``created``, ``iCalUID``, ``sequence``,
``creator``, ``organizer``, ``htmlLink``, ``attendees`` (``responseStatus``, ``self`` and
``organizer`` flags), plus whatever the resource gives (``source``, ``extendedProperties``,
``transparency``, ``recurrence``/``recurringEventId``/``originalStartTime``, as stored; the fake
does not expand recurrences). Every change, through the API or a knob, gets a new ``etag`` and
``updated`` (``sequence`` + 1 when start, end, location, recurrence or status changed) and feeds
the sync tokens and push channels of its calendar.

Knobs for the user's own edits in Google Calendar: :meth:`FakeGoogle.add_event`,
:meth:`FakeGoogle.add_busy`, ``update_event(calendar_id, event_id, **changes)`` (merged as a
patch; ``start``/``end`` may be datetimes or dates), ``delete_event(calendar_id, event_id)``,
``add_calendar(...)``. Sync: ``expire_sync_tokens(calendar_id=None)`` (they answer 410),
``sync_token(calendar_id)`` (a token for the current state). Push: ``allow_http_addresses``
(default True; Google itself refuses a non-https address with 400 ``push.webhookUrlNotHttps``,
which the fake answers when it is False), ``active_channels(calendar_id=None)``, ``channels``
(id -> :class:`~tests.fakes.google.push.Channel`), ``expire_channels(channel_id=None)``,
``resource_id(calendar_id)``, ``deliveries`` (every attempt, a
:class:`~tests.fakes.webhooks.Delivery` with its status), ``wait_deliveries(count, kind=None,
key=None, within=5.0)``, ``delivery_timeout`` (2 s), ``retry_delays`` ((0.05, 0.2) s). Writes
through the API: ``sent_updates`` ((method id, event id, sendUpdates) per write) and
``send_updates`` (event id -> sendUpdates of its insert).

Fault knobs (see :class:`FakeGoogle`): :meth:`FakeGoogle.fail_next` (429 with ``Retry-After``,
403 ``rateLimitExceeded``, 5xx..., or a late answer, for the next N API calls, optionally only
those about one calendar), :meth:`FakeGoogle.lose_access`
(a calendar answering 403/404), :attr:`FakeGoogle.latency`, :meth:`FakeGoogle.expire_access_tokens`,
:meth:`FakeGoogle.revoke_all`. Every request is recorded in :attr:`FakeGoogle.calls`;
:attr:`FakeGoogle.max_in_flight` tells how many API requests were served at once.

It runs on the shared base (:mod:`tests.fakes.base`) on a loop of its own in a thread, so it
serves sync and async tests alike (the provider and the test's own client block in their calls);
codes and tokens are a :class:`~tests.fakes.oauth.TokenAuthority`. Use the ``google_fake``
fixture, or ``with FakeGoogle() as fake:``. The modules: ``server.py`` (OAuth, knobs, HTTP),
``calendar_api.py`` (calendars, reads), ``sync_api.py`` (events.list, event writes, change
knobs), ``calendars.py`` (calendars resource), ``push.py`` (channels), ``wire.py`` (scopes,
method names, error bodies); notifications go out through :mod:`tests.fakes.webhooks`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.settings import GoogleSettings
from tests.fakes.google.calendar_api import FakeCalendar, google_error, quote_id
from tests.fakes.google.push import Channel
from tests.fakes.google.server import Call, FakeGoogle

__all__ = [
    "Call",
    "Channel",
    "FakeCalendar",
    "FakeGoogle",
    "google_error",
    "google_fake",
    "google_insecure_transport",
    "google_settings",
    "quote_id",
]


# -- pytest fixtures (use with ``pytest_plugins = ["tests.fakes.google"]``) --------------------


@pytest.fixture
def google_fake() -> Iterator[FakeGoogle]:
    """A started fake Google, fresh for each test."""
    with FakeGoogle() as fake:
        yield fake


@pytest.fixture
def google_settings(google_fake: FakeGoogle) -> GoogleSettings:
    """GoogleSettings pointing at ``google_fake``."""
    return google_fake.settings()


@pytest.fixture
def google_insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let oauthlib talk to the plain-http fake (tests only: production keeps https enforced)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
