"""Microsoft 365 calendars behind the :class:`~bot.calendar.base.CalendarProvider` Protocol (Graph).

Start with :func:`microsoft_factory` (what the app registers) and
:class:`MicrosoftCalendarProvider`: ``/me/calendars`` for calendars, ``calendarView`` per calendar
for busy time (read concurrently, paged by ``@odata.nextLink``), ``POST .../events`` with a
``transactionId`` and ``DELETE /me/events/{id}`` for bookings. Tokens come from the connection's
msal cache in the app's worker threads (``acquire_token_silent``), refreshed under the
connection's lock (:mod:`bot.calendar.tokens`); requests go through :mod:`.graph`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import msal
import requests
from msal.exceptions import MsalError

from bot.calendar.base import (
    BusyBlock,
    CalendarBusy,
    CalendarError,
    CalendarInfo,
    Conference,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderFactory,
    ProviderTimeout,
    ProviderUnavailable,
    ReauthRequired,
    check_window,
)
from bot.calendar.changes import ChangeBatch, Channel, PushTarget
from bot.calendar.http import Gone, RetryPolicy
from bot.calendar.microsoft.calendars import create_calendar, delete_calendar, event_body, join_url_of
from bot.calendar.microsoft.changes import read_changes, renew, subscribe, unsubscribe
from bot.calendar.microsoft.credentials import dump_credentials, load_credentials
from bot.calendar.microsoft.graph import Graph
from bot.calendar.microsoft.mapping import (
    CALENDAR_FIELDS,
    CALENDAR_VIEW_FIELDS,
    calendar_info,
    graph_event_to_block,
    utc_text,
)
from bot.calendar.microsoft.msal_http import DiscoveryCache, build_app
from bot.calendar.microsoft.scopes import graph_scopes
from bot.calendar.paging import MAX_PAGES, collect_pages
from bot.calendar.threads import WorkerThreads
from bot.calendar.tokens import TokenStore
from bot.settings import MicrosoftSettings

log = logging.getLogger(__name__)

_REAUTH_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})


class MicrosoftCalendarProvider:
    """The calendar Protocol over Microsoft Graph for one Microsoft 365 connection.

    Tokens come from the connection's msal cache (``acquire_token_silent``); a refreshed cache is
    persisted through ``ctx.save_credentials``. A refresh that fails with ``invalid_grant`` or
    ``interaction_required`` raises :class:`ReauthRequired`. At most ``max_concurrency`` Graph
    requests are in flight per provider (pass ``limit`` to share the bound between instances for
    the same mailbox, as :func:`microsoft_factory` does).

    :meth:`busy` raises :class:`ReauthRequired` (the whole connection needs reconnecting); every
    other failure is reported per calendar in :attr:`CalendarBusy.error` (403/404 as
    :class:`AccessLost`, a rate limit or server error after the retries, a timeout), so one bad
    calendar never hides the others.
    """

    def __init__(
        self,
        settings: MicrosoftSettings,
        ctx: ConnectionContext,
        session: aiohttp.ClientSession | Callable[[], aiohttp.ClientSession],
        *,
        max_concurrency: int = 4,
        limit: asyncio.Semaphore | None = None,
        retry: RetryPolicy = RetryPolicy(),
        request_timeout: float = 20.0,
        page_size: int = 100,
        max_pages: int = MAX_PAGES,
        validate_authority: bool | None = None,
        discovery: DiscoveryCache | None = None,
        threads: WorkerThreads | None = None,
        tokens: TokenStore | None = None,
    ) -> None:
        self._settings = settings
        self._discovery = discovery
        self._ctx = ctx
        self._tokens = (tokens or TokenStore("microsoft")).connection(ctx)
        self._threads = threads or WorkerThreads.loop_default()
        self._validate_authority = validate_authority
        self._request_timeout = request_timeout
        self._page_size = page_size
        self._max_pages = max_pages
        self._token_value = ""
        self._token_deadline = 0.0
        self._app: msal.ConfidentialClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None
        session_provider: Callable[[], aiohttp.ClientSession]
        if isinstance(session, aiohttp.ClientSession):
            fixed = session
            session_provider = lambda: fixed  # noqa: E731
        else:
            session_provider = session
        self._graph = Graph(
            settings,
            session_provider,
            self._access_token,
            limit if limit is not None else asyncio.Semaphore(max_concurrency),
            timeout=request_timeout,
            refresh=self._force_refresh,
            retry=retry,
        )

    # -- tokens ---------------------------------------------------------------------------------

    def _token_valid(self) -> bool:
        return bool(self._token_value) and time.monotonic() < self._token_deadline

    async def _access_token(self) -> str:
        if not self._token_valid():
            await self._tokens.refresh(self._renew, adopt=self._adopt, valid=self._token_valid)
        return self._token_value

    async def _force_refresh(self) -> None:
        """After a 401: the token in hand is refused, get another (or adopt a newer one)."""
        self._token_value = ""
        await self._tokens.refresh(self._renew, adopt=self._adopt, valid=self._token_valid, force=True)

    def _adopt(self, credentials: str) -> None:
        """Another instance of this connection refreshed: read its cache from now on."""
        self._app = self._cache = None
        self._token_value = ""

    async def _renew(self, force: bool) -> str | None:
        token, lifetime, new_credentials = await self._threads.run(
            lambda: self._acquire_token(force),
            timeout=2 * self._request_timeout + 1.0,
            what="Microsoft: refresh access",
        )
        self._token_value = token
        # msal treats tokens within 5 minutes of expiry as expired: so do we.
        self._token_deadline = time.monotonic() + max(0.0, lifetime - 300.0)
        return new_credentials

    def _acquire_token(self, force_refresh: bool) -> tuple[str, float, str | None]:
        """Runs in a thread: silent token from the cache, refreshing it when needed."""
        stored = load_credentials(self._tokens.credentials)
        try:
            if self._app is None or self._cache is None:
                cache = msal.SerializableTokenCache()
                cache.deserialize(stored.msal_cache)
                self._app = build_app(
                    self._settings,
                    cache=cache,
                    validate_authority=self._validate_authority,
                    timeout=self._request_timeout,
                    discovery=self._discovery,
                )
                self._cache = cache
            app, cache = self._app, self._cache
            accounts = [a for a in app.get_accounts() if a.get("home_account_id") == stored.home_account_id]
            if not accounts:
                raise ReauthRequired("the Microsoft sign-in is missing; reconnect the calendar")
            result = app.acquire_token_silent_with_error(
                graph_scopes(self._settings), accounts[0], force_refresh=force_refresh
            )
        except CalendarError:
            raise
        except requests.Timeout:
            raise ProviderTimeout("the Microsoft sign-in service did not answer in time") from None
        except (requests.RequestException, ValueError, MsalError) as exc:
            log.info("microsoft identity platform unreachable: %s", type(exc).__name__)
            raise ProviderUnavailable("the Microsoft sign-in service could not be reached") from None
        if result is None:
            raise ReauthRequired("the Microsoft sign-in has no usable token; reconnect the calendar")
        if "error" in result:
            error = str(result.get("error"))
            log.info("microsoft token refresh failed for connection %s: %s", self._ctx.connection_id, error)
            if error in _REAUTH_ERRORS:
                raise ReauthRequired("the Microsoft sign-in expired or was revoked; reconnect the calendar")
            raise ProviderUnavailable(f"the Microsoft sign-in service refused a token ({error})")
        new_credentials = None
        if cache.has_state_changed:
            cache.has_state_changed = False
            new_credentials = dump_credentials(stored.home_account_id, cache.serialize())
        lifetime = float(result.get("expires_in") or 0)
        return str(result["access_token"]), lifetime, new_credentials

    # -- the Protocol ---------------------------------------------------------------------------

    async def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar in the account's calendar list (owned and shared), following paging."""

        async def page(url: str) -> tuple[list[CalendarInfo], str | None]:
            data = await self._graph.get_json(url)
            found = (calendar_info(item, self._ctx.account_email) for item in data.get("value") or [])
            return [info for info in found if info is not None], self._graph.next_link(data)

        first = self._graph.url("/me/calendars", {"$select": CALENDAR_FIELDS, "$top": "100"})
        return await collect_pages(page, first, what="Microsoft Graph calendars", max_pages=self._max_pages)

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks per calendar from ``calendarView``, the calendars read concurrently."""
        ids = list(dict.fromkeys(calendar_ids))
        empty = check_window(start, end, ids)
        if empty is not None:
            return empty
        outcomes = await asyncio.gather(
            *(self._calendar_busy(calendar_id, start, end) for calendar_id in ids), return_exceptions=True
        )
        result: dict[str, CalendarBusy] = {}
        for calendar_id, outcome in zip(ids, outcomes, strict=True):
            if isinstance(outcome, ReauthRequired):
                raise outcome
            if isinstance(outcome, CalendarError):
                result[calendar_id] = CalendarBusy(error=outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                result[calendar_id] = CalendarBusy(blocks=outcome)
        return result

    async def _calendar_busy(self, calendar_id: str, start: datetime, end: datetime) -> tuple[BusyBlock, ...]:
        async def page(url: str) -> tuple[list[BusyBlock], str | None]:
            data = await self._graph.get_json(url, headers={"Prefer": 'outlook.timezone="UTC"'})
            try:
                items = [item for item in data.get("value") or [] if isinstance(item, dict)]
                blocks = [graph_event_to_block(item) for item in items]
            except (ValueError, TypeError):
                raise ProviderUnavailable("Microsoft Graph returned an event that cannot be read") from None
            return blocks, self._graph.next_link(data)

        first = self._graph.url(
            f"/me/calendars/{quote(calendar_id, safe='')}/calendarView",
            {
                "startDateTime": utc_text(start, round_up=False),
                "endDateTime": utc_text(end, round_up=True),
                "$select": CALENDAR_VIEW_FIELDS,
                "$top": str(self._page_size),
            },
        )
        found = await collect_pages(page, first, what="Microsoft Graph events", max_pages=self._max_pages)
        return tuple(found)

    async def changes(
        self, calendar_id: str, cursor: str | None, *, start: datetime, end: datetime
    ) -> ChangeBatch:
        """Events changed since ``cursor`` (a delta link), for calendar sync (``changes.py``)."""
        check_window(start, end, [calendar_id])
        return await read_changes(self._graph, calendar_id, cursor, start=start, end=end)

    async def watch(self, calendar_id: str, target: PushTarget) -> Channel:
        """A Graph subscription to ``calendar_id``'s events (``changes.py``)."""
        return await subscribe(self._graph, calendar_id, target)

    async def renew(self, calendar_id: str, channel: Channel, target: PushTarget) -> Channel:
        """Extend the subscription (or make it again if Graph dropped it)."""
        return await renew(self._graph, calendar_id, channel, target)

    async def unwatch(self, channel: Channel) -> None:
        """Delete the subscription; one already gone is fine."""
        await unsubscribe(self._graph, channel)

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Create ``event`` in ``calendar_id`` with its attendees required; Graph sends invitations.

        The body is ``calendars.py``'s (times in UTC, busy or free, all-day); the uid goes in
        ``transactionId`` so a retried create does not duplicate it. An event asking for a Teams
        meeting gets Graph's ``onlineMeeting.joinUrl`` as ``join_url`` (None when Graph made none).
        """
        body = event_body(event)
        url = self._graph.url(f"/me/calendars/{quote(calendar_id, safe='')}/events")
        answer = await self._graph.request("POST", url, json_body=body)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise ProviderUnavailable("Microsoft Graph did not return the created event")
        return CreatedEvent(
            external_id=str(answer["id"]), calendar_id=calendar_id, web_link=str(answer.get("webLink") or ""),
            join_url=join_url_of(answer) if event.conference is Conference.TEAMS else None,
        )

    async def create_calendar(self, name: str, time_zone: str) -> CalendarInfo:
        """A calendar the account owns named ``name`` (the existing one after a 409; ``calendars.py``)."""
        return await create_calendar(self._graph, name, self._ctx.account_email)

    async def delete_calendar(self, external_id: str) -> None:
        """Delete a calendar Slotbot made, with its events; one already gone is fine."""
        await delete_calendar(self._graph, external_id)

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Delete the event with Graph id ``uid``; one already gone is fine.

        Deleting a meeting the host organizes makes Graph send the attendees a cancellation.
        """
        try:
            await self._graph.request(
                "DELETE", self._graph.url(f"/me/events/{quote(uid, safe='')}"), missing_ok=True
            )
        except Gone:
            return


def microsoft_factory(
    settings: MicrosoftSettings,
    session_provider: Callable[[], aiohttp.ClientSession],
    *,
    threads: WorkerThreads,
    max_concurrency: int = 4,
    validate_authority: bool | None = None,
    **provider_options: Any,
) -> ProviderFactory:
    """A registry factory for ``microsoft`` connections.

    ``session_provider`` returns the application's shared ``aiohttp.ClientSession`` (called per
    request, so the session may be created after the factory); ``threads`` (the app's pool) runs
    msal. Providers for the same connection share one concurrency bound, so a mailbox never sees
    more than ``max_concurrency`` requests from this factory at once, and their token state
    (one refresh at a time, saved once); all of them share one :class:`DiscoveryCache`
    (``discovery``, or a new one), so the authority's metadata is fetched once an hour rather
    than once per question. ``provider_options`` go to :class:`MicrosoftCalendarProvider`.
    """
    limits: dict[int, asyncio.Semaphore] = {}
    tokens = TokenStore("microsoft")
    discovery: DiscoveryCache = provider_options.pop("discovery", None) or DiscoveryCache()

    def create(ctx: ConnectionContext) -> MicrosoftCalendarProvider:
        limit = limits.get(ctx.connection_id)
        if limit is None:
            limit = limits[ctx.connection_id] = asyncio.Semaphore(max_concurrency)
        return MicrosoftCalendarProvider(
            settings,
            ctx,
            session_provider,
            limit=limit,
            validate_authority=validate_authority,
            discovery=discovery,
            threads=threads,
            tokens=tokens,
            **provider_options,
        )

    return create
