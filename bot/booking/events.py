"""The calendar event of a booking, kept in step with the booking by one idempotent outbox handler.

Every change of a booking (made, moved, cancelled) enqueues :data:`SYNC_EVENT_KIND`. The handler
compares the booking with the event written for it (``event_sequence``): an event written for an
older version, or for a cancelled booking, is deleted; a live booking without a current event gets
one in the host's **default calendar only**. Running it twice changes nothing, so the outbox's
at-least-once delivery is safe. Event ids derive from the booking and its sequence, so a retried
create cannot write a second event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.calendars import default_calendar
from bot.calendar.base import Attendee, NewEvent
from bot.notices.outbox import PermanentFailure, enqueue
from bot.plain_text import one_line
from bot.scheduling.scheduler import Scheduler
from storage.models import (
    Booking,
    Calendar,
    CalendarConnection,
    MeetingEngagement,
    SchedulingPage,
    User,
)

SYNC_EVENT_KIND = "booking.sync_event"
RECORD_SOURCE = "contact_record"
"""The engagement source of a meeting scheduled from a contact's record (see bot.contacts)."""


def event_uid(booking: Booking) -> str:
    """The event's uid for the booking's current version."""
    suffix = f"-{booking.sequence}" if booking.sequence else ""
    return f"slotbot-booking-{booking.id}{suffix}@slotbot"


def invitation_uid(booking: Booking) -> str:
    """The uid of the visitor's invitation: stable across versions (SEQUENCE tells them apart)."""
    return f"slotbot-booking-{booking.id}@slotbot"


def answer_lines(answers: Mapping[str, Any] | None) -> str:
    """The visitor's answers to the page's questions, one ``Question: answer`` line each."""
    return "\n".join(f"{label}: {answer}" for label, answer in (answers or {}).items() if str(answer).strip())


def booking_description(booking: Booking) -> str:
    """What the event (and the visitor's invitation) says: the visitor's note, then their answers."""
    return "\n\n".join(part for part in (booking.note, answer_lines(booking.answers)) if part)


def booking_event(
    host: User, title: str, booking: Booking, *, uid: str | None = None, named: bool = True
) -> NewEvent:
    """The calendar event of a booking: the host organizes, the visitor attends.

    Its title is ``title: visitor`` (``named``), or ``title`` alone: a meeting scheduled from a
    contact's record has the title the host gave it.
    """
    return NewEvent(
        uid=uid or event_uid(booking),
        title=one_line(f"{title}: {booking.visitor_name}" if named else title),
        start=booking.start_at,
        end=booking.end_at,
        time_zone=host.timezone,
        attendees=(Attendee(booking.visitor_email, booking.visitor_name),),
        description=booking_description(booking),
        organizer=Attendee(host.email, host.display_name) if host.email else None,
    )


async def booking_title(session: AsyncSession, booking: Booking) -> tuple[str, bool]:
    """The title a booking's event and messages use, and whether the visitor's name follows it:
    its page's title; for a meeting scheduled from a contact's record (no page), the title on the
    record; ``Meeting`` when its page was deleted."""
    page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
    if page is not None:
        return one_line(page.title), True
    recorded = (await session.execute(
        select(MeetingEngagement.title).where(MeetingEngagement.booking_id == booking.id,
                                              MeetingEngagement.source == RECORD_SOURCE)
    )).scalars().first()
    return (one_line(recorded), False) if recorded else ("Meeting", True)


def enqueue_sync(session: AsyncSession, booking: Booking) -> None:
    """Have the outbox bring the booking's calendar event in step (inside the caller's transaction)."""
    enqueue(
        session,
        SYNC_EVENT_KIND,
        {"booking_id": booking.id},
        dedupe_key=f"sync-event:{booking.id}:{booking.sequence}:{booking.status}",
    )


class EventSync:
    """The outbox handler that writes, moves and removes booking events."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler) -> None:
        self._sessions = sessions
        self._scheduler = scheduler

    async def sync(self, payload: dict[str, Any]) -> None:
        """Bring the event of ``payload["booking_id"]`` in step with the booking."""
        booking_id = int(payload["booking_id"])
        async with self._sessions() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None:
                return
            host = await session.get(User, booking.host_id)
            title = await booking_title(session, booking)
            written = await self._calendar(session, booking.calendar_id)
        if host is None:
            return
        live = booking.status == "confirmed"
        if booking.external_event_id and (not live or booking.event_sequence != booking.sequence):
            if written is not None:  # a calendar removed since took its events with it
                calendar, connection = written
                provider = self._scheduler.provider_for(connection, zone=host.timezone)
                await provider.delete_event(booking.external_event_id, calendar_id=calendar.external_id)
            await self._store(booking_id, None, None, booking.calendar_id)
            booking.external_event_id = None
        if live and not booking.external_event_id:
            await self._create(booking, host, title)
        self._scheduler.forget(host.id)

    async def _create(self, booking: Booking, host: User, title: tuple[str, bool]) -> None:
        async with self._sessions() as session:
            calendar = await default_calendar(session, booking.host_id)
            connection = (
                await session.get(CalendarConnection, calendar.connection_id) if calendar else None
            )
        if calendar is None or connection is None:
            raise PermanentFailure("the host has no default calendar")
        provider = self._scheduler.provider_for(connection, zone=host.timezone)
        created = await provider.create_event(
            booking_event(host, title[0], booking, named=title[1]),
            calendar_id=calendar.external_id,
        )
        await self._store(booking.id, created.external_id, booking.sequence, calendar.id)

    async def _calendar(
        self, session: AsyncSession, calendar_id: int | None
    ) -> tuple[Calendar, CalendarConnection] | None:
        calendar = await session.get(Calendar, calendar_id) if calendar_id else None
        connection = await session.get(CalendarConnection, calendar.connection_id) if calendar else None
        return None if calendar is None or connection is None else (calendar, connection)

    async def _store(
        self, booking_id: int, external_id: str | None, sequence: int | None, calendar_id: int | None
    ) -> None:
        async with self._sessions() as session, session.begin():
            stored = await session.get(Booking, booking_id)
            if stored is not None:
                stored.external_event_id = external_id
                stored.event_sequence = sequence
                stored.calendar_id = calendar_id
