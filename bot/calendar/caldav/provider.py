"""CalDAV calendars (iCloud, Fastmail, Nextcloud, Radicale...) behind the calendar Protocol.

Start with :func:`caldav_factory` (what the app registers) and :class:`CalDavCalendarProvider`.
Every request is async aiohttp on the factory's own session, whose connector is the SSRF policy's
(:meth:`~bot.calendar.ssrf.AddressPolicy.connector`; environment proxies ignored, TLS trust from
:func:`~bot.calendar.tls.trust_context`), through the shared :class:`~bot.calendar.http.RetryPolicy`.

* Busy time: a calendar-query REPORT (VEVENT, time-range, no server-side expansion), expanded by
  :mod:`bot.calendar.ics` (see :mod:`bot.calendar.caldav.mapping` for declined invitations).
  Before it, one Depth 0 PROPFIND reads the calendar's sync-token / ctag: when it has not changed
  since the last read of a window covering this one, the events read then are used again
  (:class:`VersionCache`, per factory, bounded), so an unchanged calendar costs that PROPFIND only.
* Writing: PUT ``{calendar}{uid}.ics`` with ``If-None-Match: *`` (a retried create meets 412: the
  event is there, which is success); the created event's id is its path. Attendees carry
  ``SCHEDULE-AGENT=CLIENT``: Slotbot e-mails every invitation itself (``bot.booking.notices``),
  so a server that schedules does not send a second one; the DAV header's
  ``calendar-auto-schedule`` therefore need not be read. Deleting reads the
  event's ETag (Depth 0 PROPFIND) and sends ``DELETE`` with ``If-Match``; 404 is success.
* Errors: 401 -> ReauthRequired; 403/404 on a calendar -> AccessLost for it alone; unreachable,
  untrusted or slow servers -> ProviderUnavailable / ProviderTimeout for each calendar (unknown,
  never free).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import aiohttp
from yarl import URL

from bot.calendar.base import (
    AccessLost,
    BusyBlock,
    CalendarBusy,
    CalendarError,
    CalendarInfo,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ReauthRequired,
    check_window,
)
from bot.calendar.caldav.credentials import CalDavCredentials, load_credentials
from bot.calendar.caldav.discovery import calendar_version, list_calendars, same_origin
from bot.calendar.caldav.mapping import IcsError, ResourceCache, access_role, client_scheduled
from bot.calendar.caldav.webdav import VOCABULARY, DavClient, calendar_query_body, multistatus
from bot.calendar.http import Gone, RetryPolicy, StatusError
from bot.calendar.ics.write import event_to_ics
from bot.calendar.ssrf import AddressPolicy

T = TypeVar("T")
SAFE_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,200}$")


class Sessions:
    """The factory's one aiohttp session (per event loop), made when first needed.

    Its connector is the SSRF policy's, with the operator's TLS trust; ``trust_env=False`` so an
    environment proxy never sees a password.
    """

    def __init__(self, policy: AddressPolicy, tls: ssl.SSLContext) -> None:
        self._policy = policy
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        """The open session of the running loop (a new one after the loop changed)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            connector = self._policy.connector(ssl=self._tls, limit=100)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
            self._loop = loop
        return self._session

    async def close(self) -> None:
        """Close the session, if one is open on the running loop."""
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()


@dataclass(frozen=True, slots=True)
class Fetched:
    """The events of one calendar read for ``[lo, hi)`` while its version was ``version``."""

    version: str
    lo: datetime
    hi: datetime
    texts: tuple[str, ...]


class VersionCache:
    """The last read of each (connection, calendar), keyed on its version; bounded (LRU)."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._entries: OrderedDict[tuple[int, str], Fetched] = OrderedDict()

    def find(self, key: tuple[int, str], version: str, start: datetime, end: datetime) -> Fetched | None:
        """The read to use again for ``[start, end)`` at ``version``, if there is one."""
        found = self._entries.get(key)
        if found is None or not version or found.version != version or found.lo > start or found.hi < end:
            return None
        self._entries.move_to_end(key)
        return found

    def keep(self, key: tuple[int, str], fetched: Fetched) -> None:
        """Remember ``fetched`` (the oldest entry goes when full)."""
        self._entries[key] = fetched
        self._entries.move_to_end(key)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _widened(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` widened to whole UTC days, so nearby windows reuse one read."""
    lo = datetime.combine(start.astimezone(UTC).date(), time(), tzinfo=UTC)
    hi = datetime.combine(end.astimezone(UTC).date(), time(), tzinfo=UTC)
    return lo, hi if hi >= end else hi + timedelta(days=1)


class CalDavCalendarProvider:
    """The calendar Protocol over CalDAV for one connection."""

    def __init__(self, ctx: ConnectionContext, factory: CalDavFactory) -> None:
        self._ctx = ctx
        self._factory = factory
        self._zone = ZoneInfo(str(ctx.options.get("timezone", "UTC")))

    def _client(self) -> tuple[DavClient, CalDavCredentials]:
        credentials = load_credentials(self._ctx.credentials)  # unreadable: ReauthRequired
        return self._factory.client(credentials.username, credentials.password), credentials

    async def _run(self, attempt: Callable[[], Awaitable[T]], *, what: str, missing_ok: bool = False) -> T:
        return await self._factory.retry.run(attempt, vocabulary=VOCABULARY, what=what, missing_ok=missing_ok)

    def _calendar_url(self, credentials: CalDavCredentials, calendar_id: str) -> URL:
        home = URL(credentials.home)
        if not calendar_id.startswith("/") or calendar_id.startswith("//"):
            raise AccessLost("CalDAV: this calendar id is not a path on the account's server.")
        url = home.join(URL(calendar_id if calendar_id.endswith("/") else calendar_id + "/"))
        if not same_origin(url, home):
            raise AccessLost("CalDAV: this calendar is not on the account's server.")
        return url

    async def list_calendars(self) -> list[CalendarInfo]:
        """The event calendars of the account's home; the first writable one is the default."""
        client, credentials = self._client()
        found = await self._run(lambda: list_calendars(client, URL(credentials.home)), what="list calendars")
        primary = next((c.href for c in found if c.writable), None)
        return [
            CalendarInfo(external_id=c.href, name=c.name, is_primary=c.href == primary,
                         access_role=access_role(c.writable, primary=c.href == primary))
            for c in found
        ]

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks of each calendar, read concurrently; one's failure is its error alone."""
        if (empty := check_window(start, end, calendar_ids)) is not None:
            return empty
        client, credentials = self._client()
        answers = await asyncio.gather(
            *(self._read(client, credentials, cid, start, end) for cid in calendar_ids),
            return_exceptions=True,
        )
        result: dict[str, CalendarBusy] = {}
        for calendar_id, answer in zip(calendar_ids, answers, strict=True):
            if isinstance(answer, ReauthRequired):
                raise answer
            if isinstance(answer, CalendarError):
                result[calendar_id] = CalendarBusy(error=answer)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                result[calendar_id] = CalendarBusy(blocks=tuple(answer))
        return result

    async def _read(self, client: DavClient, credentials: CalDavCredentials, calendar_id: str,
                    start: datetime, end: datetime) -> list[BusyBlock]:
        url = self._calendar_url(credentials, calendar_id)
        key = (self._ctx.connection_id, calendar_id)
        version = await self._run(lambda: calendar_version(client, url), what="check a calendar for changes")
        fetched = self._factory.versions.find(key, version, start, end)
        if fetched is None:
            lo, hi = _widened(start, end)
            body = calendar_query_body(_utc(lo), _utc(hi))
            answer = await self._run(lambda: client.request("REPORT", url, body=body, depth="1"),
                                     what="read busy time")
            try:
                texts = tuple(r.text("c:calendar-data") for r in multistatus(answer.text))
            except ValueError:
                raise AccessLost("CalDAV answered the calendar query with something else.") from None
            fetched = Fetched(version, lo, hi, tuple(t for t in texts if t))
            if version:
                self._factory.versions.keep(key, fetched)
        blocks: list[BusyBlock] = []
        own = credentials.own_addresses
        for text in fetched.texts:
            try:
                blocks.extend(self._factory.parsed.get(text, own).blocks(start, end, self._zone))
            except IcsError as exc:
                raise AccessLost(f"CalDAV: an event of this calendar cannot be read ({exc}).") from None
        return blocks

    def _event_url(self, credentials: CalDavCredentials, calendar_id: str, uid: str) -> URL:
        calendar = self._calendar_url(credentials, calendar_id)
        if uid.startswith("/") and not uid.startswith("//"):
            url = calendar.join(URL(uid))
            if not same_origin(url, calendar):
                raise AccessLost("CalDAV: this event is not on the account's server.")
            return url
        name = uid if SAFE_NAME.match(uid) else "".join(c if SAFE_NAME.match(c) else "_" for c in uid)[:200]
        return calendar.join(URL(f"{name}.ics"))

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """PUT the booking's event (``If-None-Match: *``); an event already there is success."""
        client, credentials = self._client()
        url = self._event_url(credentials, calendar_id, event.uid)
        body = client_scheduled(event_to_ics(event))  # Slotbot e-mails the invitation (bot.booking.notices)
        await self._run(
            lambda: client.request("PUT", url, body=body, content_type="text/calendar",
                                   headers={"If-None-Match": "*"}, ok=(412,)),
            what="create an event",
        )
        return CreatedEvent(external_id=url.path, calendar_id=calendar_id)

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """DELETE the event with its current ETag (``If-Match``); one already gone is no error."""
        client, credentials = self._client()
        url = self._event_url(credentials, calendar_id, uid)

        async def attempt() -> None:
            _, found = await client.propfind(url, "d:getetag")
            etag = next((r.text("d:getetag") for r in found if r.text("d:getetag")), "")
            headers = {"If-Match": etag} if etag else {}
            try:
                await client.request("DELETE", url, headers=headers)
            except StatusError as exc:
                if exc.status == 412:  # changed since its ETag was read: read it again
                    raise StatusError(503) from None
                raise

        try:
            await self._run(attempt, what="delete an event", missing_ok=True)
        except Gone:
            return


class CalDavFactory:
    """The app's CalDAV provider factory: one session, one version cache, one parse cache."""

    def __init__(self, *, policy: AddressPolicy, tls: ssl.SSLContext, timeout: float,
                 retry: RetryPolicy = RetryPolicy()) -> None:
        self.policy = policy
        self.timeout = timeout
        self.retry = retry
        self.sessions = Sessions(policy, tls)
        self.versions = VersionCache()
        self.parsed = ResourceCache()

    def __call__(self, ctx: ConnectionContext) -> CalDavCalendarProvider:
        """A provider for one connection."""
        return CalDavCalendarProvider(ctx, self)

    def client(self, username: str, password: str, *, timeout: float | None = None) -> DavClient:
        """A client signing in as ``username`` on the factory's session (inside the running loop)."""
        return DavClient(self.sessions.get(), username=username, password=password,
                         timeout=self.timeout if timeout is None else timeout)

    async def close(self) -> None:
        """Close the factory's session (at shutdown)."""
        await self.sessions.close()


def caldav_factory(*, policy: AddressPolicy, tls: ssl.SSLContext, timeout: float,
                   retry: RetryPolicy = RetryPolicy()) -> CalDavFactory:
    """The factory the app registers as ``caldav``: requests through ``policy`` trusting ``tls``."""
    return CalDavFactory(policy=policy, tls=tls, timeout=timeout, retry=retry)
