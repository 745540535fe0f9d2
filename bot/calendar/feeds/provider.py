"""A read-only calendar behind an ICS feed (provider ``feed``): busy time from its stored copy.

A feed connection has exactly one calendar (:data:`FEED_CALENDAR_ID`), listed as the account's
primary calendar with the *reader* role: it is checked for conflicts from the start and can never
become the default (bookings land only in a calendar the host owns; see
``accounts/connections.py`` and ``accounts/calendars.py``). Its name is the feed's
``X-WR-CALNAME``, else the host name.

:meth:`FeedCalendarProvider.busy` never fetches: it reads the copy the refresh keeps
(``refresh.py``) from the database, so a "when am I free" answer never waits for a feed's server.
:class:`~bot.calendar.feeds.policy.RefreshPolicy.verdict` says whether the copy may answer;
events shown as free are counted as busy when the feed's switch says so. Writing raises
:class:`ReadOnlyFeed`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    BusyBlock,
    CalendarBusy,
    CalendarError,
    CalendarInfo,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderFactory,
    ProviderUnavailable,
    ShowAs,
    check_window,
)
from bot.calendar.feeds.credentials import load_credentials
from bot.calendar.feeds.policy import RefreshPolicy
from bot.calendar.feeds.store import FeedStore
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar
from bot.calendar.ics.parse import parse_ics
from bot.calendar.threads import WorkerThreads

KIND = "feed"
FEED_CALENDAR_ID = "feed"
"""The external id of a feed connection's one calendar."""
PARSE_SECONDS = 30.0
_CALNAME = re.compile(r"^X-WR-CALNAME(?:;[^:\r\n]*)?:(.*)$", re.IGNORECASE | re.MULTILINE)


class ReadOnlyFeed(CalendarError):
    """Something tried to write to a feed: it is read-only."""

    reason = "read_only"


def calendar_name(text: str, fallback: str) -> str:
    """The feed's ``X-WR-CALNAME`` (unescaped, one line, at most 255 characters), else ``fallback``."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text[:256 * 1024])
    match = _CALNAME.search(unfolded)
    if match is None:
        return fallback
    value = match.group(1).strip()
    value = re.sub(r"\\([\\;,nN])", lambda m: " " if m.group(1) in "nN" else m.group(1), value)
    value = " ".join(value.split())
    return value[:255] or fallback


class FeedCache:
    """Parsed copies by body hash, shared by every feed provider and the refresh (a small LRU)."""

    def __init__(self, limit: int = 32) -> None:
        self._limit = limit
        self._parsed: OrderedDict[str, IcsCalendar] = OrderedDict()

    def get(self, digest: str) -> IcsCalendar | None:
        """The parsed copy known by ``digest``, if held."""
        found = self._parsed.get(digest)
        if found is not None:
            self._parsed.move_to_end(digest)
        return found

    def put(self, digest: str, parsed: IcsCalendar) -> None:
        """Hold ``parsed`` under ``digest`` (the oldest entry goes when full)."""
        self._parsed[digest] = parsed
        self._parsed.move_to_end(digest)
        while len(self._parsed) > self._limit:
            self._parsed.popitem(last=False)


async def parse_in_thread(threads: WorkerThreads, text: str) -> IcsCalendar:
    """``parse_ics(text)`` in a worker thread (a large feed takes a while); raises ``IcsError``."""
    return await threads.run(lambda: parse_ics(text), timeout=PARSE_SECONDS, what="read a calendar feed")


class FeedCalendarProvider:
    """The :class:`~bot.calendar.base.CalendarProvider` of one feed connection (read-only)."""

    def __init__(
        self,
        ctx: ConnectionContext,
        store: FeedStore,
        *,
        cache: FeedCache,
        threads: WorkerThreads,
        policy: RefreshPolicy = RefreshPolicy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ctx = ctx
        self._store = store
        self._cache = cache
        self._threads = threads
        self._policy = policy
        self._clock = clock
        self._zone = ZoneInfo(str(ctx.options.get("timezone", "UTC")))

    @property
    def label(self) -> str:
        """How the feed is named in messages (host and hint, never the address)."""
        return self._ctx.account_email

    def _host(self) -> str:
        try:
            return load_credentials(self._ctx.credentials).host or self.label
        except CalendarError:
            return self.label

    async def list_calendars(self) -> list[CalendarInfo]:
        """The feed's one calendar: primary, read-only, named from the feed or its host."""
        text = await self._store.body(self._ctx.connection_id)
        name = calendar_name(text, self._host()) if text else self._host()
        return [CalendarInfo(external_id=FEED_CALENDAR_ID, name=name, access_role=AccessRole.READER,
                             is_primary=True)]

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks from the stored copy; unknown when it may not answer (see the module doc)."""
        if (empty := check_window(start, end, calendar_ids)) is not None:
            return empty
        answer = await self._read(start, end)
        missing = CalendarBusy(error=AccessLost("A calendar feed has one calendar only."))
        return {cid: answer if cid == FEED_CALENDAR_ID else missing for cid in calendar_ids}

    async def _read(self, start: datetime, end: datetime) -> CalendarBusy:
        snapshot = await self._store.snapshot(self._ctx.connection_id)
        if snapshot is None:
            return CalendarBusy(error=AccessLost(f"The calendar feed {self.label} is no longer set up."))
        error = self._policy.verdict(
            label=self.label, has_copy=snapshot.body_hash is not None, fetched_at=snapshot.fetched_at,
            failing_since=snapshot.failing_since, last_error=snapshot.last_error, now=self._clock(),
        )
        if error is not None:
            return CalendarBusy(error=error)
        assert snapshot.body_hash is not None
        try:
            parsed = await self._parsed(snapshot.body_hash)
            blocks = parsed.busy_blocks(start, end, self._zone)
        except IcsError as exc:
            unreadable = ProviderUnavailable(f"The calendar feed {self.label} cannot be read: {exc}")
            return CalendarBusy(error=unreadable)
        except CalendarError as exc:
            return CalendarBusy(error=exc)
        if snapshot.free_as_busy:
            blocks = [_as_busy(block) for block in blocks]
        return CalendarBusy(blocks=tuple(blocks))

    async def _parsed(self, digest: str) -> IcsCalendar:
        found = self._cache.get(digest)
        if found is None:
            text = await self._store.body(self._ctx.connection_id)
            if text is None:
                raise ProviderUnavailable(f"The calendar feed {self.label} has not loaded yet.")
            found = await parse_in_thread(self._threads, text)
            self._cache.put(digest, found)
        return found

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Refused: a feed is read-only."""
        raise ReadOnlyFeed(f"The calendar feed {self.label} is read-only: Slotbot cannot add events to it.")

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Refused: a feed is read-only."""
        raise ReadOnlyFeed(
            f"The calendar feed {self.label} is read-only: Slotbot cannot remove events from it."
        )


def _as_busy(block: BusyBlock) -> BusyBlock:
    return replace(block, show_as=ShowAs.BUSY) if block.show_as is ShowAs.FREE else block


def feed_factory(
    store: FeedStore, *, cache: FeedCache, threads: WorkerThreads, policy: RefreshPolicy = RefreshPolicy(),
) -> ProviderFactory:
    """The app's factory: providers over ``store``, sharing ``cache`` and the worker ``threads``."""

    def make(ctx: ConnectionContext) -> FeedCalendarProvider:
        return FeedCalendarProvider(ctx, store, cache=cache, threads=threads, policy=policy)

    return make
