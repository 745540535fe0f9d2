"""Google Calendar: the OAuth 2.0 connect flow and the :class:`CalendarProvider` over Calendar API v3.

Where to start:

* The connect flow (called by ``handlers/oauth.py``): show :data:`DISCLOSURE`, then redirect to
  :func:`authorization_url` (keep the returned PKCE ``code_verifier`` with the caller's ``state``),
  and on the callback call :func:`exchange_code`; store :attr:`GoogleGrant.credentials_json`
  encrypted. :func:`revoke` undoes the grant at Google on disconnect.
* :class:`GoogleCalendarProvider` (built by :func:`google_factory`) answers the Protocol from
  ``base.py`` through google-api-python-client: ``calendarList`` for calendars, ``freeBusy`` for busy
  time (split at 50 calendars and 90 days per request, run concurrently), ``events.insert`` /
  ``events.delete`` with ``sendUpdates=all`` for bookings.
* :func:`busy_block_from_event` maps an event resource (from ``events.list``) to a
  :class:`BusyBlock`.

The Google libraries are synchronous: every call runs in a worker thread with a timeout, on its
own ``httplib2.Http`` (those objects are not thread-safe). Access tokens are refreshed before a
call when expired (and by google-auth on a 401); a refreshed token is handed to
``ConnectionContext.save_credentials``. Errors leave this module only as the ``CalendarError``
family, with messages that never contain tokens or secrets.

Stored credentials (:func:`credentials_to_json`) are a small JSON object of our own::

    {"type": "google_oauth2", "version": 1, "refresh_token": "...", "token": "...",
     "expiry": "2025-01-01T10:00:00Z", "scopes": ["https://www.googleapis.com/auth/..."]}

The client id, client secret and token endpoint are deliberately *not* stored: they come from
:class:`GoogleSettings` every time, so rotating the client secret or moving an endpoint does not
require rewriting every connection. (google-auth's own ``to_json`` format is accepted on load.)
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import hashlib
import importlib
import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any, TypeVar, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    AllDaySpan,
    BusyBlock,
    CalendarBusy,
    CalendarError,
    CalendarInfo,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderFactory,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
    ShowAs,
    TimedSpan,
    require_aware,
)
from bot.settings import GoogleSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
    "https://www.googleapis.com/auth/calendar.events.owned",
)
"""The least-privilege scopes Slotbot asks for, one per job.

* ``calendar.calendarlist.readonly`` ("See the list of Google calendars you're subscribed to"):
  enough for ``calendarList.list``/``get``, which is how the account's calendars, their access
  roles (owner/writer/reader/freeBusyReader) and the primary calendar (whose id is the account's
  e-mail address) are found. Nothing about events.
* ``calendar.events.freebusy`` ("See the availability on Google calendars you have access to"):
  enough for ``freeBusy.query`` on every calendar the account can see, shared ones included,
  and it yields busy intervals only, never titles or guests. (``calendar.freebusy`` is the older
  equivalent; ``calendar.readonly`` would expose every event's details.)
* ``calendar.events.owned`` ("See, create, change, and delete events on Google calendars you
  own"): enough for ``events.insert``/``delete`` on the host's own calendars, where bookings are
  written (S6), without the power over calendars merely shared with the host that
  ``calendar.events`` grants or the calendar/ACL management of ``calendar``.

No identity scopes (``openid email``) are requested: the account e-mail is the id of the primary
calendar. Consequence: a calendar the host only has *writer* access to cannot be a booking's
target; the dashboard should offer only ``AccessRole.OWNER`` calendars as the default.
"""

DISCLOSURE = (
    "To connect your Google Calendar, Slotbot asks Google for three permissions and uses them "
    "only for scheduling:\n"
    "- See the list of your calendars, so you can choose which ones are checked for conflicts.\n"
    "- See when you are busy in those calendars, including ones shared with you. Slotbot reads "
    "busy times only, not what your events are about or who attends them.\n"
    "- Create and delete events in calendars you own. Slotbot adds a meeting to your default "
    "calendar when someone books time with you (Google e-mails them the invitation) and removes it "
    "if the booking is cancelled. Google words this permission as also letting Slotbot see events "
    "in calendars you own; Slotbot does not read them.\n"
    "Slotbot never changes or deletes your other events, never shares your calendars, and you can "
    "disconnect at any time from your calendar settings, which also withdraws its access at Google."
)
"""What Slotbot reads and writes, in plain language, shown before the consent screen (S9)."""

FREEBUSY_MAX_CALENDARS = 50
"""Google's limit of calendars per ``freeBusy`` request."""

FREEBUSY_MAX_SPAN = timedelta(days=90)
"""Google's limit of the time range per ``freeBusy`` request ("The requested time range is too long")."""

_ROLES = {
    "owner": AccessRole.OWNER,
    "writer": AccessRole.WRITER,
    "reader": AccessRole.READER,
    "freeBusyReader": AccessRole.FREE_BUSY,
}
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
_CREDENTIALS_TYPE = "google_oauth2"

OAUTH_TIMEOUT_SECONDS = 20.0
"""How long the token and revocation endpoints may take during connect and disconnect."""


def _lib(name: str) -> Any:
    """Import a library that ships no type information (httplib2, oauthlib...) as ``Any``."""
    return importlib.import_module(name)


# -- errors and grants ---------------------------------------------------------------------------


class GoogleOAuthError(CalendarError):
    """The connect flow failed (consent denied or incomplete, code expired or reused, ...).

    ``code`` is Google's OAuth error code (``invalid_grant``, ``access_denied``...) or
    ``scopes_missing`` when the user unticked a permission on the consent screen; then
    ``missing_scopes`` names them. The message is safe to show: it tells the host to try again.
    """

    reason = "oauth_failed"

    def __init__(self, message: str, *, code: str, missing_scopes: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.code = code
        self.missing_scopes = missing_scopes


@dataclass(frozen=True, slots=True)
class GoogleGrant:
    """What a successful code exchange yields: store ``credentials_json`` encrypted."""

    credentials_json: str = field(repr=False)
    account_email: str | None
    scopes: tuple[str, ...]


# -- credentials -----------------------------------------------------------------------------------


def _google_credentials(settings: GoogleSettings, stored: str) -> Any:
    """A google-auth ``Credentials`` from stored JSON; client and endpoint always from settings."""
    from google.oauth2.credentials import Credentials

    try:
        data = json.loads(stored)
        refresh_token = data["refresh_token"]
        if not isinstance(data, dict) or not isinstance(refresh_token, str) or not refresh_token:
            raise ValueError("no refresh token")
        token = data.get("token") or None
        expiry = _parse_expiry(data.get("expiry"))
        scopes = data.get("scopes")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise ValueError("malformed scopes")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired(
            "The stored Google credentials are unreadable; reconnect the calendar."
        ) from None
    return cast(Any, Credentials)(
        token=token,
        refresh_token=refresh_token,
        token_uri=settings.token_uri,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=scopes,
        # google-auth compares expiry with a naive UTC clock: convert at this boundary only.
        expiry=None if expiry is None else expiry.astimezone(UTC).replace(tzinfo=None),
    )


def _parse_expiry(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("expiry must be a string")
    parsed = datetime.fromisoformat(value)
    # google-auth's own to_json writes naive UTC ("2025-01-01T10:00:00.000000Z" or no suffix).
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def credentials_to_json(
    *, refresh_token: str, token: str | None, expiry: datetime | None, scopes: Sequence[str]
) -> str:
    """Serialize credentials in the stored format (see the module docstring). ``expiry`` is aware."""
    if expiry is not None:
        require_aware(expiry, "expiry")
    return json.dumps(
        {
            "type": _CREDENTIALS_TYPE,
            "version": 1,
            "refresh_token": refresh_token,
            "token": token,
            "expiry": None if expiry is None else expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scopes": list(scopes),
        },
        sort_keys=True,
    )


def _credentials_json_of(creds: Any) -> str:
    expiry = creds.expiry
    return credentials_to_json(
        refresh_token=creds.refresh_token,
        token=creds.token,
        expiry=None if expiry is None else expiry.replace(tzinfo=UTC),
        scopes=list(creds.granted_scopes or creds.scopes or SCOPES),
    )


# -- the connect flow ------------------------------------------------------------------------------


def _flow(settings: GoogleSettings, *, redirect_uri: str, code_verifier: str) -> Any:
    from google_auth_oauthlib.flow import Flow

    config = {
        "web": {
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "auth_uri": settings.auth_uri,
            "token_uri": settings.token_uri,
            "redirect_uris": [redirect_uri],
        }
    }
    return Flow.from_client_config(
        config,
        scopes=list(SCOPES),
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        autogenerate_code_verifier=False,
    )


def authorization_url(
    settings: GoogleSettings, *, redirect_uri: str, state: str, login_hint: str | None
) -> tuple[str, str]:
    """The consent URL to redirect the host to, and the PKCE ``code_verifier`` to keep.

    The URL asks for :data:`SCOPES` with ``access_type=offline`` (a refresh token),
    ``prompt=consent`` (Google then always returns one), ``include_granted_scopes=true``,
    a PKCE S256 challenge, the caller's ``state`` (binding it to the chat user, single use and
    expiry are the caller's business) and ``login_hint`` when known. ``redirect_uri`` must be
    exactly the one registered at Google and given again to :func:`exchange_code`.
    """
    code_verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-], RFC 7636 range
    flow = _flow(settings, redirect_uri=redirect_uri, code_verifier=code_verifier)
    extra: dict[str, str] = {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
    }
    if login_hint:
        extra["login_hint"] = login_hint
    url, _ = flow.authorization_url(**extra)
    return str(url), code_verifier


def _fetch_token(
    settings: GoogleSettings, redirect_uri: str, code: str, code_verifier: str, seconds: float
) -> dict[str, Any]:
    """The authorization-code grant through google-auth-oauthlib (blocking)."""
    oauth2_error: type[Exception] = _lib("oauthlib.oauth2").OAuth2Error
    flow = _flow(settings, redirect_uri=redirect_uri, code_verifier=code_verifier)
    try:
        token = flow.fetch_token(code=code, timeout=seconds)
    except oauth2_error as exc:
        raise GoogleOAuthError(
            "Google did not accept the sign-in (it may have expired or been used already); "
            "please connect the calendar again.",
            code=str(getattr(exc, "error", None) or "oauth_error"),
        ) from None
    except Warning as changed:
        # oauthlib refuses a token whose scopes differ from those requested. That is normal with
        # Google: include_granted_scopes adds earlier grants, and granular consent lets the user
        # untick some. The token is attached; the scope check below decides.
        token = getattr(changed, "token", None)
        if token is None:
            raise
    return dict(token)


async def exchange_code(
    settings: GoogleSettings, *, redirect_uri: str, code: str, code_verifier: str
) -> GoogleGrant:
    """Exchange the callback's ``code`` (with the kept PKCE verifier) for stored credentials.

    Raises :class:`GoogleOAuthError` when Google refuses the code, when no refresh token came back,
    or when the user did not grant every scope in :data:`SCOPES` (the partial grant is revoked
    then). The account e-mail is read from the primary calendar's id (``None`` if it cannot be).
    """
    seconds = OAUTH_TIMEOUT_SECONDS
    token = await _run_blocking(
        lambda: _fetch_token(settings, redirect_uri, code, code_verifier, seconds), seconds, "sign in"
    )
    raw_scope = token.get("scope") or ()
    granted = tuple(raw_scope.split() if isinstance(raw_scope, str) else raw_scope)
    refresh_token = token.get("refresh_token")
    missing = frozenset(SCOPES) - set(granted)
    if missing or not isinstance(refresh_token, str) or not refresh_token:
        leftover = refresh_token or token.get("access_token")
        if isinstance(leftover, str) and leftover:
            try:
                await _revoke_token(settings, leftover, seconds)
            except CalendarError:
                log.warning("google: could not revoke an incomplete grant")
        if missing:
            raise GoogleOAuthError(
                "Slotbot needs every permission on Google's consent screen to check your calendars "
                "and add bookings; please connect again and leave them all ticked.",
                code="scopes_missing",
                missing_scopes=missing,
            )
        raise GoogleOAuthError(
            "Google did not grant offline access; please connect the calendar again.", code="no_refresh_token"
        )
    expires_in = token.get("expires_in")
    expiry = (
        datetime.now(UTC) + timedelta(seconds=float(expires_in))
        if isinstance(expires_in, int | float)
        else None
    )
    scopes = tuple(s for s in granted if s in SCOPES) or SCOPES
    credentials_json = credentials_to_json(
        refresh_token=refresh_token,
        token=token.get("access_token"),
        expiry=expiry,
        scopes=scopes,
    )
    holder = [credentials_json]

    async def keep(new: str) -> None:
        holder[0] = new

    provider = GoogleCalendarProvider(
        settings,
        ConnectionContext(
            connection_id=0, account_email="", credentials=credentials_json, save_credentials=keep
        ),
        timeout=seconds,
    )
    email: str | None = None
    try:
        primary = await provider.primary_calendar()
        email = primary.external_id if "@" in primary.external_id else None
    except CalendarError as exc:
        log.warning("google: could not read the primary calendar after connecting (%s)", exc.reason)
    return GoogleGrant(credentials_json=holder[0], account_email=email, scopes=scopes)


async def revoke(settings: GoogleSettings, credentials_json: str) -> None:
    """Revoke the grant at Google (disconnect). An already revoked or unreadable grant is fine.

    Revoking the refresh token ends the whole grant, access tokens included. The token is sent in
    the POST body, never in the URL, so it stays out of access logs.
    """
    try:
        data = json.loads(credentials_json)
        token = data.get("refresh_token") or data.get("token")
    except (ValueError, AttributeError):
        return
    if isinstance(token, str) and token:
        await _revoke_token(settings, token, OAUTH_TIMEOUT_SECONDS)


async def _revoke_token(settings: GoogleSettings, token: str, seconds: float) -> None:
    def call() -> tuple[int, bytes]:
        request = _lib("google_auth_httplib2").Request(_lib("httplib2").Http(timeout=seconds))
        response = request(
            settings.revoke_uri,
            method="POST",
            body=urlencode({"token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=seconds,
        )
        return int(response.status), bytes(response.data or b"")

    status, data = await _run_blocking(call, seconds, "revoke access")
    if status == 200:
        return
    try:
        error = json.loads(data).get("error")
    except (ValueError, AttributeError):
        error = None
    if status == 400 and error in ("invalid_token", "invalid_grant"):
        return  # already revoked or expired: the goal is reached
    raise ProviderUnavailable(f"Google could not revoke access (HTTP {status}); try again later.")


async def _run_blocking(
    fn: Callable[[], T], seconds: float, what: str, executor: Executor | None = None
) -> T:
    """Run a blocking library call in a thread; map transport failures to ProviderUnavailable.

    ``executor`` None means the loop's default executor (``asyncio.to_thread``'s).
    """
    from google.auth.exceptions import TransportError

    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn)
    try:
        return await asyncio.wait_for(loop.run_in_executor(executor, call), timeout=seconds + 1.0)
    except CalendarError:
        raise
    except TimeoutError:
        raise ProviderUnavailable(f"Google did not answer in time ({what}).") from None
    except (OSError, HTTPException, TransportError) as exc:
        raise ProviderUnavailable(f"Google could not be reached ({what}: {type(exc).__name__}).") from None
    except Exception as exc:
        if _is_httplib2_error(exc) or _is_requests_error(exc):
            raise ProviderUnavailable(
                f"Google could not be reached ({what}: {type(exc).__name__})."
            ) from None
        raise


def _is_httplib2_error(exc: BaseException) -> bool:
    return isinstance(exc, _lib("httplib2").HttpLib2Error)


def _is_requests_error(exc: BaseException) -> bool:
    return isinstance(exc, _lib("requests").RequestException)


# -- the provider ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failure:
    error: CalendarError
    retryable: bool
    retry_after: float | None = None


class GoogleCalendarProvider:
    """Google Calendar behind the ``CalendarProvider`` Protocol, for one connection.

    ``busy`` puts per-calendar failures (a calendar that is not found or forbidden ->
    :class:`AccessLost`, anything else Google reports for one calendar ->
    :class:`ProviderUnavailable`) into that calendar's :class:`CalendarBusy`; failures of the whole
    connection (:class:`ReauthRequired`, :class:`RateLimited` after the retries,
    :class:`ProviderUnavailable`) are raised, and mean every calendar of the connection is unknown.

    ``sleep`` is the clock used between retries (injectable so tests need not wait). ``executor``
    runs the blocking library calls (default: the event loop's default executor);
    :func:`google_factory` gives all its providers one pool sized for waiting on the network.
    """

    def __init__(
        self,
        settings: GoogleSettings,
        context: ConnectionContext,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        max_concurrency: int = 4,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        executor: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._executor = executor
        self._context = context
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._sleep = sleep
        self._refresh_lock = asyncio.Lock()
        self._creds: Any = None
        self._saved = context.credentials
        self._service: Any = None

    # -- Protocol --------------------------------------------------------------------------------

    async def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar in the account's calendar list (all pages), primary flagged."""
        calendars: list[CalendarInfo] = []
        page_token: str | None = None
        while True:
            page = await self._call(_calendar_list_page(page_token), what="list calendars")
            for item in page.get("items", []):
                info = _calendar_info(item)
                if info is not None:
                    calendars.append(info)
            page_token = page.get("nextPageToken")
            if not page_token:
                return calendars

    async def primary_calendar(self) -> CalendarInfo:
        """The account's primary calendar (its id is the account's e-mail address)."""
        item = await self._call(
            lambda s: s.calendarList().get(calendarId="primary"), what="read the primary calendar"
        )
        info = _calendar_info({**item, "primary": True})
        if info is None:
            raise ProviderUnavailable("Google returned an unusable primary calendar.")
        return info

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy time of each calendar in ``[start, end)`` through ``freeBusy``.

        Split into requests of at most 50 calendars and 90 days, run concurrently (bounded), merged.
        """
        require_aware(start, "start")
        require_aware(end, "end")
        ids = list(dict.fromkeys(calendar_ids))
        if not ids:
            return {}
        if end <= start:
            return {cid: CalendarBusy() for cid in ids}
        windows = _windows(start.astimezone(UTC), end.astimezone(UTC), FREEBUSY_MAX_SPAN)
        batches = [ids[i : i + FREEBUSY_MAX_CALENDARS] for i in range(0, len(ids), FREEBUSY_MAX_CALENDARS)]
        jobs = [(batch, w0, w1) for batch in batches for w0, w1 in windows]
        await self._ensure_fresh()  # once, before the concurrent requests
        results = await asyncio.gather(
            *(self._freebusy(batch, w0, w1) for batch, w0, w1 in jobs), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise _most_serious(failures)
        blocks: dict[str, list[BusyBlock]] = {cid: [] for cid in ids}
        errors: dict[str, CalendarError] = {}
        for result in results:
            assert not isinstance(result, BaseException)
            for cid, outcome in result.items():
                if isinstance(outcome, CalendarError):
                    errors.setdefault(cid, outcome)
                else:
                    blocks[cid].extend(outcome)
        return {
            cid: CalendarBusy(error=errors[cid])
            if cid in errors
            else CalendarBusy(blocks=tuple(sorted(blocks[cid], key=_block_start)))
            for cid in ids
        }

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Insert ``event`` in ``calendar_id`` only, attendees invited (``sendUpdates=all``).

        The Google event id is derived from ``event.uid`` (:func:`event_id_for`), so a retried
        insert (outbox after a crash) finds the first one instead of booking twice.
        """
        event_id = event_id_for(event.uid)
        body: dict[str, Any] = {
            "id": event_id,
            "summary": event.title,
            "start": {"dateTime": event.start.isoformat(), "timeZone": event.time_zone},
            "end": {"dateTime": event.end.isoformat(), "timeZone": event.time_zone},
            "attendees": [
                {"email": a.email, **({"displayName": a.name} if a.name else {})} for a in event.attendees
            ],
            "extendedProperties": {"private": {"slotbotUid": event.uid}},
        }
        if event.description:
            body["description"] = event.description
        if event.location:
            body["location"] = event.location
        try:
            created = await self._call(
                lambda s: s.events().insert(calendarId=calendar_id, body=body, sendUpdates="all"),
                what="create an event",
                calendar_id=calendar_id,
            )
        except _Duplicate:
            created = await self._call(
                lambda s: s.events().get(calendarId=calendar_id, eventId=event_id),
                what="read an event",
                calendar_id=calendar_id,
            )
        return CreatedEvent(
            external_id=str(created.get("id", event_id)),
            calendar_id=calendar_id,
            web_link=str(created.get("htmlLink", "")),
        )

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Delete event ``uid`` (a Google event id) with ``sendUpdates=all``; gone already is fine."""
        try:
            await self._call(
                lambda s: s.events().delete(calendarId=calendar_id, eventId=uid, sendUpdates="all"),
                what="delete an event",
                calendar_id=calendar_id,
                missing_ok=True,
            )
        except _Gone:
            return

    # -- plumbing --------------------------------------------------------------------------------

    async def _freebusy(
        self, batch: list[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyBlock] | CalendarError]:
        body = {
            "timeMin": start.isoformat(),
            "timeMax": end.isoformat(),
            "timeZone": "UTC",
            "items": [{"id": cid} for cid in batch],
        }
        async with self._semaphore:
            answer = await self._call(lambda s: s.freebusy().query(body=body), what="read busy times")
        calendars = answer.get("calendars", {})
        out: dict[str, list[BusyBlock] | CalendarError] = {}
        for cid in batch:
            entry = calendars.get(cid)
            if not isinstance(entry, dict):
                out[cid] = ProviderUnavailable("Google returned no busy times for a calendar.")
                continue
            errors = entry.get("errors") or []
            if errors:
                reasons = {e.get("reason") for e in errors if isinstance(e, dict)}
                if reasons & {"notFound", "forbidden"}:
                    out[cid] = AccessLost("The Google account can no longer read this calendar.")
                else:
                    reason = next(iter(sorted(r for r in reasons if isinstance(r, str))), "unknown")
                    out[cid] = ProviderUnavailable(f"Google could not read this calendar ({reason}).")
                continue
            try:
                spans = [(_instant(span["start"]), _instant(span["end"])) for span in entry.get("busy", [])]
            except (KeyError, TypeError, ValueError):
                out[cid] = ProviderUnavailable("Google sent unusable busy times for a calendar.")
                continue
            out[cid] = [BusyBlock(TimedSpan(b0, b1)) for b0, b1 in spans if b1 > b0]
        return out

    def _credentials(self) -> Any:
        if self._creds is None:
            self._creds = _google_credentials(self._settings, self._context.credentials)
        return self._creds

    def _http(self) -> Any:
        http = _lib("httplib2").Http(timeout=self._timeout)
        return _lib("google_auth_httplib2").AuthorizedHttp(self._credentials(), http=http)

    def _api(self) -> Any:
        if self._service is None:
            from googleapiclient.discovery import build

            self._service = build(
                "calendar",
                "v3",
                http=self._http(),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": self._settings.api_base},
            )
        return self._service

    async def _ensure_fresh(self) -> None:
        creds = self._credentials()
        if creds.valid:
            return
        async with self._refresh_lock:
            if not creds.valid:

                def refresh() -> None:
                    http = _lib("httplib2").Http(timeout=self._timeout)
                    creds.refresh(_lib("google_auth_httplib2").Request(http))

                try:
                    await _run_blocking(refresh, self._timeout, "refresh access", self._executor)
                except Exception as exc:
                    raise _refresh_error(exc) from None
                finally:
                    await self._persist()

    async def _persist(self) -> None:
        """Hand refreshed credentials to the connection's storage, once per change."""
        creds = self._creds
        if creds is None or not creds.refresh_token:
            return
        current = _credentials_json_of(creds)
        if _same_credentials(current, self._saved):
            return
        self._saved = current
        try:
            await self._context.save_credentials(current)
        except Exception as exc:
            log.warning(
                "google: saving refreshed credentials of connection %s failed (%s)",
                self._context.connection_id,
                type(exc).__name__,
            )

    async def _call(
        self,
        make: Callable[[Any], Any],
        *,
        what: str,
        calendar_id: str | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """Execute one API request with refresh, timeout, error mapping and bounded retries."""
        attempt = 0
        while True:
            await self._ensure_fresh()

            def execute() -> Any:
                service = self._api()
                return make(service).execute(http=self._http(), num_retries=0)

            try:
                try:
                    result = await _run_blocking(execute, self._timeout, what, self._executor)
                finally:
                    await self._persist()
                return {} if result is None else result
            except CalendarError:
                raise
            except Exception as exc:
                failure = self._classify(exc, calendar_id=calendar_id, missing_ok=missing_ok)
            if not failure.retryable or attempt >= self._max_retries:
                raise failure.error
            delay = failure.retry_after
            if delay is None:
                delay = min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311 (jitter)
            elif delay > self._max_retry_after:
                raise failure.error
            attempt += 1
            log.info("google: %s answered %s; retry %d in %.1f s", what, failure.error.reason, attempt, delay)
            await self._sleep(delay)

    def _classify(self, exc: Exception, *, calendar_id: str | None, missing_ok: bool) -> _Failure:
        from google.auth.exceptions import RefreshError
        from googleapiclient.errors import Error as ClientError
        from googleapiclient.errors import HttpError

        if isinstance(exc, RefreshError):
            return _Failure(_refresh_error(exc), retryable=False)
        if isinstance(exc, ClientError | ValueError) and not isinstance(exc, HttpError):
            # An answer the client library could not use (not JSON, unexpected shape...).
            return _Failure(
                ProviderUnavailable(f"Google sent an unusable answer ({type(exc).__name__})."), False
            )
        if not isinstance(exc, HttpError):
            raise exc
        status = int(exc.resp.status)
        reasons = _error_reasons(exc.content)
        retry_after = _retry_after(exc.resp.get("retry-after"))
        if status == 401:
            return _Failure(ReauthRequired("Google no longer accepts this connection; reconnect it."), False)
        if status == 429 or (status == 403 and reasons & _RATE_REASONS):
            return _Failure(RateLimited("Google asked Slotbot to slow down.", retry_after), True, retry_after)
        if status == 403 and reasons & _SCOPE_REASONS:
            return _Failure(
                ReauthRequired("The Google connection lacks a permission Slotbot needs; reconnect it."), False
            )
        if status in (404, 410) and missing_ok:
            return _Failure(_Gone(), False)
        if status == 409 and "duplicate" in reasons:
            return _Failure(_Duplicate(), False)
        if status in (403, 404, 410):
            return _Failure(AccessLost("The Google account can no longer use this calendar."), False)
        if status >= 500:
            return _Failure(
                ProviderUnavailable(f"Google answered with a server error ({status})."), True, retry_after
            )
        return _Failure(
            ProviderUnavailable(
                f"Google refused the request ({status} {', '.join(sorted(reasons)) or 'error'})."
            ),
            False,
        )


class _Gone(CalendarError):
    """Internal: the event to delete no longer exists."""


class _Duplicate(CalendarError):
    """Internal: an event with this id exists already."""


WORKER_THREADS = 32
"""Threads a :func:`google_factory` runs the (blocking) Google libraries on.

Each request holds a thread while it waits for Google. The event loop's default executor has
``min(32, CPUs + 4)`` threads, shared with every other blocking call in the process: on a
2-CPU machine that is 6, and the 7th concurrent Google request (a host with many connections, or
several hosts asking at once) waited a whole round trip for a free thread.
"""


def google_factory(
    settings: GoogleSettings,
    *,
    timeout: float = 10.0,
    max_retries: int = 3,
    max_concurrency: int = 4,
    executor: Executor | None = None,
) -> ProviderFactory:
    """A registry factory making a :class:`GoogleCalendarProvider` per connection.

    Its providers share ``executor``, by default a pool of :data:`WORKER_THREADS` threads owned
    by this factory (threads start when first needed and end when the factory is dropped).
    """
    pool = executor or ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="slotbot-google")

    def make(context: ConnectionContext) -> GoogleCalendarProvider:
        return GoogleCalendarProvider(
            settings,
            context,
            timeout=timeout,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            executor=pool,
        )

    return make


def event_id_for(uid: str) -> str:
    """The Google event id Slotbot uses for the booking ``uid`` (base32hex, as Google requires)."""
    digest = hashlib.sha256(uid.encode()).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


# -- mapping ---------------------------------------------------------------------------------------


def busy_block_from_event(resource: Mapping[str, Any]) -> BusyBlock | None:
    """Map a Calendar v3 event resource to a :class:`BusyBlock` (``None``: a stub without times).

    ``transparency: transparent`` and working-location events show as free; out-of-office as
    ``OUT_OF_OFFICE``; ``status: cancelled`` sets ``cancelled``; the connected account's own
    attendee entry (``self: true``) with ``responseStatus: declined`` sets ``declined`` and
    ``tentative`` shows as tentative. ``start.date`` makes an :class:`AllDaySpan`, ``start.dateTime``
    a :class:`TimedSpan` (an offset-less dateTime takes the ``timeZone`` given beside it).
    """
    start, end = resource.get("start"), resource.get("end")
    if not isinstance(start, Mapping) or not isinstance(end, Mapping):
        return None  # cancelled instances of recurring events may carry no times at all
    span: TimedSpan | AllDaySpan
    if "date" in start and "dateTime" not in start:
        span = AllDaySpan(date.fromisoformat(start["date"]), date.fromisoformat(end["date"]))
    else:
        span = TimedSpan(_event_instant(start), _event_instant(end))
    me = next(
        (a for a in resource.get("attendees", []) if isinstance(a, Mapping) and a.get("self")),
        None,
    )
    response = me.get("responseStatus") if me is not None else None
    event_type = resource.get("eventType")
    if resource.get("transparency") == "transparent" or event_type == "workingLocation":
        show_as = ShowAs.FREE
    elif event_type == "outOfOffice":
        show_as = ShowAs.OUT_OF_OFFICE
    elif response == "tentative":
        show_as = ShowAs.TENTATIVE
    else:
        show_as = ShowAs.BUSY
    return BusyBlock(
        span=span,
        show_as=show_as,
        cancelled=resource.get("status") == "cancelled",
        declined=response == "declined",
    )


def _event_instant(part: Mapping[str, Any]) -> datetime:
    value = datetime.fromisoformat(part["dateTime"])
    if value.tzinfo is None:
        zone = part.get("timeZone")
        if not zone:
            raise ValueError("an event time without offset or time zone")
        try:
            value = value.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
    return value


def _calendar_info(item: Mapping[str, Any]) -> CalendarInfo | None:
    role = _ROLES.get(str(item.get("accessRole")))
    cid = item.get("id")
    if role is None or not isinstance(cid, str):
        return None
    return CalendarInfo(
        external_id=cid,
        name=str(item.get("summaryOverride") or item.get("summary") or cid),
        access_role=role,
        is_primary=bool(item.get("primary", False)),
        time_zone=item.get("timeZone") or None,
    )


def _calendar_list_page(page_token: str | None) -> Callable[[Any], Any]:
    def make(service: Any) -> Any:
        return service.calendarList().list(maxResults=250, pageToken=page_token)

    return make


def _windows(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    out = []
    cursor = start
    while cursor < end:
        nxt = min(cursor + span, end)
        out.append((cursor, nxt))
        cursor = nxt
    return out


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("Google returned a time without offset")
    return value


def _block_start(block: BusyBlock) -> datetime:
    span = block.span
    assert isinstance(span, TimedSpan)
    return span.start


def _same_credentials(a: str, b: str) -> bool:
    try:
        da, db = json.loads(a), json.loads(b)
    except ValueError:
        return False
    keys = ("refresh_token", "token")
    return isinstance(db, dict) and all(da.get(k) == db.get(k) for k in keys)


def _error_reasons(content: bytes) -> set[str]:
    try:
        error = json.loads(content)["error"]
    except (ValueError, KeyError, TypeError):
        return set()
    reasons: set[str] = set()
    if isinstance(error, dict):
        for item in error.get("errors") or []:
            if isinstance(item, dict) and isinstance(item.get("reason"), str):
                reasons.add(item["reason"])
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
                reasons.add(detail["reason"])
    return reasons


def _retry_after(value: object) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` if absent or unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _refresh_error(exc: BaseException) -> CalendarError:
    """Map a failed token refresh; the library's message (which may echo Google's body) is dropped."""
    from google.auth.exceptions import RefreshError

    if isinstance(exc, CalendarError):
        return exc
    if isinstance(exc, RefreshError):
        details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        error = details.get("error")
        if error == "invalid_grant":
            return ReauthRequired(
                "Google revoked or expired this connection's access; reconnect the calendar."
            )
        if getattr(exc, "retryable", False) or error in (None, "internal_failure", "temporarily_unavailable"):
            return ProviderUnavailable("Google could not refresh the connection's access right now.")
        return ProviderUnavailable(
            f"Google refused to refresh access ({error}); check the Google client settings."
        )
    return ProviderUnavailable(f"Google could not refresh the connection's access ({type(exc).__name__}).")


def _most_serious(failures: Sequence[BaseException]) -> BaseException:
    for kind in (ReauthRequired, RateLimited, AccessLost, ProviderUnavailable, CalendarError):
        for failure in failures:
            if isinstance(failure, kind):
                return failure
    return failures[0]
