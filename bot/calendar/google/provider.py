"""Google Calendar behind the :class:`~bot.calendar.base.CalendarProvider` Protocol (Calendar API v3).

Start with :func:`google_factory` (what the app registers) and :class:`GoogleCalendarProvider`:
``calendarList`` for calendars (paged), ``freeBusy`` for busy time (split at 50 calendars and 90
days per request, run concurrently), ``events.list`` for the host's own events with their titles
(:meth:`GoogleCalendarProvider.events`, the agenda only), ``events.insert`` / ``events.delete`` with
``sendUpdates=all`` for bookings. Every request goes through google-api-python-client in the
app's worker threads, on its own ``httplib2.Http`` (those objects are not thread-safe), and
through the shared policy of :mod:`bot.calendar.http` (retries, ``Retry-After``, status ->
error, one forced refresh on a 401). Access tokens are refreshed through
:mod:`bot.calendar.tokens` before a call when expired; refreshed credentials reach
``ConnectionContext.save_credentials``. Errors leave only as the ``CalendarError`` family, with
messages that never contain tokens or secrets.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

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
    ProviderUnavailable,
    ReauthRequired,
    TimedSpan,
    check_window,
    window_pieces,
)
from bot.calendar.changes import ChangeBatch, Channel, PushTarget
from bot.calendar.google.agenda import read_events
from bot.calendar.google.calendars import (
    conference_pending,
    create_calendar,
    delete_calendar,
    event_body,
    join_link,
    send_updates,
)
from bot.calendar.google.changes import read_changes, unwatch, watch
from bot.calendar.google.client import VOCABULARY, refresh_error, run_blocking, untyped
from bot.calendar.google.credentials import credentials_json_of, google_credentials, same_credentials
from bot.calendar.google.failures import Duplicate, failure_of
from bot.calendar.google.mapping import calendar_info, freebusy_outcome
from bot.calendar.http import Gone, RetryPolicy
from bot.calendar.paging import MAX_PAGES, collect_pages
from bot.calendar.threads import WorkerThreads
from bot.calendar.tokens import TokenStore
from bot.settings import GoogleSettings

FREEBUSY_MAX_CALENDARS = 50
"""Google's limit of calendars per ``freeBusy`` request."""

FREEBUSY_MAX_SPAN = timedelta(days=90)
"""Google's limit of the time range per ``freeBusy`` request ("The requested time range is too long")."""


def google_tokens() -> TokenStore:
    """The token state a Google factory shares between its providers."""
    return TokenStore("google", same=same_credentials)


class GoogleCalendarProvider:
    """Google Calendar behind the ``CalendarProvider`` Protocol, for one connection.

    ``busy`` reports every failure per calendar in its :class:`CalendarBusy`: a calendar that is
    not found or forbidden -> :class:`AccessLost`; a ``freeBusy`` request that failed (rate
    limit or server error after the retries, timeout) -> that error for every calendar of the
    request, while the other requests' calendars keep their busy time. Only
    :class:`ReauthRequired` (the connection cannot sign in) is raised.

    ``retry`` is the shared retry policy (its ``sleep`` injectable so tests need not wait);
    ``threads`` runs the blocking library calls (default: the event loop's default executor;
    :func:`google_factory` passes the app's pool); ``tokens`` shares token state with the other
    providers of the same factory.
    """

    def __init__(
        self,
        settings: GoogleSettings,
        context: ConnectionContext,
        *,
        timeout: float = 10.0,
        max_concurrency: int = 4,
        max_pages: int = MAX_PAGES,
        retry: RetryPolicy = RetryPolicy(),
        threads: WorkerThreads | None = None,
        tokens: TokenStore | None = None,
        conference_waits: Sequence[float] = (0.5, 1.0, 2.0),
    ) -> None:
        self._settings = settings
        self._conference_waits = tuple(conference_waits)  # pauses before re-reading a pending Meet
        self._threads = threads or WorkerThreads.loop_default()
        self._tokens = (tokens or google_tokens()).connection(context)
        self._timeout = timeout
        self._max_pages = max_pages
        self._retry = retry
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._creds: Any = None
        self._service: Any = None

    # -- Protocol --------------------------------------------------------------------------------

    async def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar in the account's calendar list (all pages), primary flagged."""

        async def page(token: str | None) -> tuple[list[CalendarInfo], str | None]:
            answer = await self._call(
                lambda s: s.calendarList().list(maxResults=250, pageToken=token), what="list calendars"
            )
            found = (calendar_info(item) for item in answer.get("items", []))
            return [info for info in found if info is not None], answer.get("nextPageToken") or None

        return await collect_pages(page, None, what="Google calendar list", max_pages=self._max_pages)

    async def primary_calendar(self) -> CalendarInfo:
        """The account's primary calendar (its id is the account's e-mail address)."""
        item = await self._call(
            lambda s: s.calendarList().get(calendarId="primary"), what="read the primary calendar"
        )
        info = calendar_info({**item, "primary": True})
        if info is None:
            raise ProviderUnavailable("Google returned an unusable primary calendar.")
        return info

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy time of each calendar in ``[start, end)`` through ``freeBusy``.

        Split into requests of at most 50 calendars and 90 days, run concurrently (bounded),
        merged; a failed request marks its calendars (see the class docstring).
        """
        ids = list(dict.fromkeys(calendar_ids))
        empty = check_window(start, end, ids)
        if empty is not None or not ids:
            return empty or {}
        windows = window_pieces(start.astimezone(UTC), end.astimezone(UTC), FREEBUSY_MAX_SPAN)
        batches = [ids[i : i + FREEBUSY_MAX_CALENDARS] for i in range(0, len(ids), FREEBUSY_MAX_CALENDARS)]
        jobs = [(batch, w0, w1) for batch in batches for w0, w1 in windows]
        try:
            await self._ensure_fresh()  # once, before the concurrent requests
        except ReauthRequired:
            raise
        except CalendarError as exc:
            return {cid: CalendarBusy(error=exc) for cid in ids}
        results = await asyncio.gather(
            *(self._freebusy(batch, w0, w1) for batch, w0, w1 in jobs), return_exceptions=True
        )
        blocks: dict[str, list[BusyBlock]] = {cid: [] for cid in ids}
        errors: dict[str, CalendarError] = {}
        for (batch, _, _), result in zip(jobs, results, strict=True):
            if isinstance(result, ReauthRequired):
                raise result
            if isinstance(result, CalendarError):
                for cid in batch:
                    errors.setdefault(cid, result)
                continue
            if isinstance(result, BaseException):
                raise result
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

    async def events(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Each calendar's events in ``[start, end)`` with their titles (the host's own agenda
        only; see :func:`bot.calendar.google.agenda.read_events`)."""
        return await read_events(self._listing, start=start, end=end, calendar_ids=calendar_ids)

    async def _listing(self, make: Callable[[Any], Any]) -> Any:
        async with self._semaphore:
            return await self._call(make, what="read events")

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Insert ``event`` in ``calendar_id`` only (``calendars.py``: a booking's attendees are
        invited with ``sendUpdates=all``; a task is free and tells nobody).

        The Google event id is derived from ``event.uid`` (``event_id_for``), so a retried
        insert (outbox after a crash) finds the first one instead of booking twice. An event
        asking for a Google Meet is inserted with ``conferenceDataVersion=1``; its link is read from
        the answer, and while Google reports the meeting ``pending`` the event is read again a few
        times (``conference_waits``). No link then: ``join_url`` None (never a made-up one).
        """
        body = event_body(event)
        event_id, updates = str(body["id"]), send_updates(event)
        meet = event.conference is Conference.GOOGLE_MEET
        extra = {"conferenceDataVersion": 1} if meet else {}
        try:
            created = await self._call(
                lambda s: s.events().insert(calendarId=calendar_id, body=body, sendUpdates=updates, **extra),
                what="create an event",
            )
        except Duplicate:
            created = await self._read_event(calendar_id, event_id)
        link = join_link(created) if meet else None
        for pause in self._conference_waits if meet else ():
            if link is not None or not conference_pending(created):
                break
            await asyncio.sleep(pause)  # Google is still making the meeting: read it again
            created = await self._read_event(calendar_id, event_id)
            link = join_link(created)
        return CreatedEvent(
            external_id=str(created.get("id", event_id)),
            calendar_id=calendar_id,
            web_link=str(created.get("htmlLink", "")),
            join_url=link,
        )

    async def _read_event(self, calendar_id: str, event_id: str) -> Any:
        return await self._call(
            lambda s: s.events().get(calendarId=calendar_id, eventId=event_id), what="read an event"
        )

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Delete event ``uid`` (a Google event id) with ``sendUpdates=all`` (an event without
        attendees, a task's, tells nobody); gone already is fine."""
        try:
            await self._call(
                lambda s: s.events().delete(calendarId=calendar_id, eventId=uid, sendUpdates="all"),
                what="delete an event",
                missing_ok=True,
            )
        except Gone:
            return

    async def create_calendar(self, name: str, time_zone: str) -> CalendarInfo:
        """A new secondary calendar (``calendars.insert``, see ``calendars.py``)."""
        return await create_calendar(lambda make: self._call(make, what="create a calendar"), name, time_zone)

    async def delete_calendar(self, external_id: str) -> None:
        """Delete a calendar Slotbot made (``calendars.delete``); one already gone is fine."""
        await delete_calendar(
            lambda make: self._call(make, what="delete a calendar", missing_ok=True), external_id)

    async def changes(
        self, calendar_id: str, cursor: str | None, *, start: datetime, end: datetime
    ) -> ChangeBatch:
        """Events changed since ``cursor`` (a sync token), for calendar sync (``changes.py``)."""
        check_window(start, end, [calendar_id])
        return await read_changes(lambda make: self._call(make, what="read changed events"),
                                  calendar_id, cursor, start=start, end=end)

    async def watch(self, calendar_id: str, target: PushTarget) -> Channel:
        """Open a watch channel on ``calendar_id``'s events (``changes.py``)."""
        return await watch(self._changes_call, calendar_id, target, channel_id=str(uuid.uuid4()))

    async def renew(self, calendar_id: str, channel: Channel, target: PushTarget) -> Channel:
        """Google channels cannot be extended: open a new one, then stop the old."""
        fresh = await self.watch(calendar_id, target)
        await self.unwatch(channel)
        return fresh

    async def unwatch(self, channel: Channel) -> None:
        """Stop a watch channel; one Google no longer knows is fine."""
        try:
            await unwatch(lambda make: self._call(make, what="stop a channel", missing_ok=True), channel)
        except Gone:
            return

    def _changes_call(self, make: Callable[[Any], Any]) -> Awaitable[Any]:
        return self._call(make, what="watch a calendar")

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
        return {cid: freebusy_outcome(calendars.get(cid)) for cid in batch}

    def _credentials(self) -> Any:
        if self._creds is None:
            self._creds = google_credentials(self._settings, self._tokens.credentials)
        return self._creds

    def _adopt(self, credentials: str) -> None:
        self._creds = google_credentials(self._settings, credentials)

    def _http(self) -> Any:
        http = untyped("httplib2").Http(timeout=self._timeout)
        # A 401 is the shared policy's to handle (one forced refresh under the connection's lock).
        return untyped("google_auth_httplib2").AuthorizedHttp(
            self._credentials(), http=http, max_refresh_attempts=0
        )

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

    async def _ensure_fresh(self, *, force: bool = False) -> None:
        if not force and self._credentials().valid:
            return
        await self._tokens.refresh(
            self._renew, adopt=self._adopt, valid=lambda: bool(self._credentials().valid), force=force
        )

    async def _renew(self, force: bool) -> str | None:
        creds = self._credentials()

        def refresh() -> None:
            http = untyped("httplib2").Http(timeout=self._timeout)
            creds.refresh(untyped("google_auth_httplib2").Request(http))

        try:
            await run_blocking(self._threads, refresh, self._timeout + 1.0, "Google: refresh access")
        except Exception as exc:
            raise refresh_error(exc) from None
        return credentials_json_of(creds)

    async def _persist(self) -> None:
        """Hand credentials google-auth refreshed during a call to the connection's storage."""
        current = None if self._creds is None else credentials_json_of(self._creds)
        if current is not None:
            await self._tokens.save(current)

    async def _call(self, make: Callable[[Any], Any], *, what: str, missing_ok: bool = False) -> Any:
        """Execute one API request with refresh, timeout, error mapping and bounded retries."""
        await self._ensure_fresh()

        async def attempt() -> Any:
            def execute() -> Any:
                return make(self._api()).execute(http=self._http(), num_retries=0)

            try:
                try:
                    seconds = self._timeout + 1.0
                    result = await run_blocking(self._threads, execute, seconds, f"Google: {what}")
                finally:
                    await self._persist()
            except CalendarError:
                raise
            except Exception as exc:
                mapped = failure_of(exc)
                if mapped is exc:
                    raise
                raise mapped from None
            return {} if result is None else result

        return await self._retry.run(
            attempt,
            vocabulary=VOCABULARY,
            what=what,
            missing_ok=missing_ok,
            refresh=lambda: self._ensure_fresh(force=True),
        )


def google_factory(
    settings: GoogleSettings,
    *,
    threads: WorkerThreads,
    timeout: float = 10.0,
    max_concurrency: int = 4,
    retry: RetryPolicy = RetryPolicy(),
) -> ProviderFactory:
    """A registry factory making a :class:`GoogleCalendarProvider` per connection.

    Its providers run the blocking libraries on ``threads`` (the app's pool) and share token
    state per connection (one refresh at a time, saved once).
    """
    tokens = google_tokens()

    def make(context: ConnectionContext) -> GoogleCalendarProvider:
        return GoogleCalendarProvider(
            settings,
            context,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retry=retry,
            threads=threads,
            tokens=tokens,
        )

    return make


def _block_start(block: BusyBlock) -> datetime:
    span = block.span
    assert isinstance(span, TimedSpan)
    return span.start
