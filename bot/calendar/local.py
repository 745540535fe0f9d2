"""A calendar kept in Slotbot's own database (provider ``local``): the demo host's calendar.

Each row of ``local_events`` holds iCalendar text (a whole imported .ics, or one event Slotbot
wrote); busy time is read through :mod:`bot.calendar.ics`, so recurrence rules, overrides and
free/busy semantics are exactly those of an exported calendar. Parsed rows are cached by content;
what the reader skipped or read leniently is logged once per parsed row (one line each).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    CalendarBusy,
    CalendarInfo,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderFactory,
    check_window,
)
from bot.calendar.changes import ChangeBatch
from bot.calendar.ics.errors import IcsError
from bot.calendar.ics.expand import IcsCalendar
from bot.calendar.ics.parse import parse_ics
from bot.calendar.ics.write import event_to_ics
from bot.calendar.local_changes import diff, read_events
from storage.models import Calendar, CalendarConnection, LocalEvent

log = logging.getLogger(__name__)


class ParseCache:
    """Parsed iCalendar texts by content hash, so a window is expanded without re-parsing."""

    def __init__(self, limit: int = 512) -> None:
        self._limit = limit
        self._parsed: dict[str, IcsCalendar] = {}

    def get(self, text: str) -> IcsCalendar:
        """The parsed calendar of ``text`` (raises :class:`IcsError` when unreadable)."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        found = self._parsed.get(digest)
        if found is None:
            found = parse_ics(text)
            for warning in found.warnings:
                log.warning("local calendar event text: %s", warning)
            if len(self._parsed) >= self._limit:
                self._parsed.clear()
            self._parsed[digest] = found
        return found


class LocalCalendarProvider:
    """The :class:`~bot.calendar.base.CalendarProvider` of one local connection."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connection_id: int,
        *,
        zone: str = "UTC",
        cache: ParseCache | None = None,
    ) -> None:
        self._sessions = sessions
        self._cache = cache or ParseCache()
        self._connection_id = connection_id
        self._zone = ZoneInfo(zone)

    async def list_calendars(self) -> list[CalendarInfo]:
        """The calendars of this connection (a local account owns all of them)."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Calendar).where(Calendar.connection_id == self._connection_id)
                )
            ).scalars()
            return [
                CalendarInfo(
                    external_id=row.external_id,
                    name=row.name,
                    access_role=AccessRole.OWNER,
                    is_primary=row.is_default,
                    time_zone=row.time_zone,
                )
                for row in rows
            ]

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks of each calendar from its stored iCalendar text."""
        if (empty := check_window(start, end, calendar_ids)) is not None:  # reversed: ValueError
            return empty
        async with self._sessions() as session:
            calendars = {
                row.external_id: row.id
                for row in (
                    await session.execute(
                        select(Calendar).where(
                            Calendar.connection_id == self._connection_id,
                            Calendar.external_id.in_(list(calendar_ids)),
                        )
                    )
                ).scalars()
            }
            texts: dict[int, list[str]] = {}
            for calendar_id, ical in await session.execute(
                select(LocalEvent.calendar_id, LocalEvent.ical).where(
                    LocalEvent.calendar_id.in_(list(calendars.values()))
                )
            ):
                texts.setdefault(calendar_id, []).append(ical)
        result: dict[str, CalendarBusy] = {}
        for external_id in calendar_ids:
            if external_id not in calendars:
                result[external_id] = CalendarBusy(error=AccessLost("calendar no longer exists"))
                continue
            blocks = []
            try:
                for text in texts.get(calendars[external_id], []):
                    blocks.extend(self._cache.get(text).busy_blocks(start, end, self._zone))
            except IcsError as exc:
                result[external_id] = CalendarBusy(error=AccessLost(f"unreadable event: {exc}"))
                continue
            result[external_id] = CalendarBusy(blocks=tuple(blocks))
        return result

    async def changes(
        self, calendar_id: str, cursor: str | None, *, start: datetime, end: datetime
    ) -> ChangeBatch:
        """What changed in ``calendar_id`` since ``cursor`` (see :mod:`bot.calendar.local_changes`)."""
        check_window(start, end, [calendar_id])
        async with self._sessions() as session:
            row_id = await self._row_id(session, calendar_id)
            if row_id is None:
                raise AccessLost("calendar no longer exists")
            texts = (await session.execute(
                select(LocalEvent.ical).where(LocalEvent.calendar_id == row_id))).scalars().all()
        return diff(read_events(texts, self._zone), cursor, start=start, end=end)

    async def _row_id(self, session: AsyncSession, calendar_id: str) -> int | None:
        return (
            await session.execute(
                select(Calendar.id).where(
                    Calendar.connection_id == self._connection_id,
                    Calendar.external_id == calendar_id,
                )
            )
        ).scalar_one_or_none()

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Store ``event`` in the calendar (idempotent by uid)."""
        async with self._sessions() as session, session.begin():
            row_id = await self._row_id(session, calendar_id)
            if row_id is None:
                raise AccessLost("calendar no longer exists")
            existing = (
                await session.execute(
                    select(LocalEvent).where(
                        LocalEvent.calendar_id == row_id, LocalEvent.uid == event.uid
                    )
                )
            ).scalar_one_or_none()
            if existing is None:
                session.add(LocalEvent(calendar_id=row_id, uid=event.uid, ical=event_to_ics(event)))
            else:
                existing.ical = event_to_ics(event)
        return CreatedEvent(external_id=event.uid, calendar_id=calendar_id)

    async def create_calendar(self, name: str, time_zone: str) -> CalendarInfo:
        """A new calendar of this connection (not checked for conflicts, not the default)."""
        async with self._sessions() as session, session.begin():
            connection = await session.get(CalendarConnection, self._connection_id)
            if connection is None:
                raise AccessLost("the local calendar account no longer exists")
            row = Calendar(connection_id=connection.id, user_id=connection.user_id,
                           external_id=f"local-{secrets.token_hex(8)}", name=name,
                           access_role=AccessRole.OWNER.value, time_zone=time_zone,
                           is_default=False, checks_conflicts=False)
            session.add(row)
        return CalendarInfo(external_id=row.external_id, name=name, access_role=AccessRole.OWNER,
                            time_zone=time_zone)

    async def delete_calendar(self, external_id: str) -> None:
        """Delete a calendar with its events (one already gone is fine; never the default)."""
        async with self._sessions() as session, session.begin():
            await session.execute(delete(Calendar).where(
                Calendar.connection_id == self._connection_id, Calendar.external_id == external_id,
                Calendar.is_default.is_(False)))

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Remove the event (nothing happens when it is already gone)."""
        async with self._sessions() as session, session.begin():
            row_id = await self._row_id(session, calendar_id)
            if row_id is not None:
                await session.execute(
                    delete(LocalEvent).where(LocalEvent.calendar_id == row_id, LocalEvent.uid == uid)
                )


def local_factory(sessions: Callable[[], async_sessionmaker[AsyncSession]]) -> ProviderFactory:
    """A registry factory; ``sessions`` is read when a provider is made (after app start-up)."""

    cache = ParseCache()

    def make(context: ConnectionContext) -> LocalCalendarProvider:
        zone = context.options.get("timezone", "UTC")
        return LocalCalendarProvider(sessions(), context.connection_id, zone=str(zone), cache=cache)

    return make
