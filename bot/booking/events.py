"""The calendar event of a booking, kept in step with the booking by one idempotent outbox handler.

Every change of a booking (made, moved, cancelled) enqueues :data:`SYNC_EVENT_KIND`. The handler
compares the booking with the event written for it (``event_sequence``): an event written for an
older version, or for a cancelled booking, is deleted; a live booking without a current event gets
one in the host's **default calendar only**. Running it twice changes nothing, so the outbox's
at-least-once delivery is safe. Event ids derive from the booking and its sequence, so a retried
create cannot write a second event.

The event says where the meeting is (the booking's ``location`` and ``join_url``, in its location
field and description: :mod:`bot.booking.location_text`). A page with Google Meet or Teams asks
the default calendar to make the meeting when it is of the right provider; the link it returns
is stored on the booking (``join_url``, with the meeting's name as ``location``). A calendar of
another provider makes none: the booking then says nothing about a meeting (a warning is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.calendars import default_calendar
from bot.booking.location_text import CONFERENCE_NAMES, conference_for, conference_of, place_lines
from bot.calendar.base import Attendee, Conference, CreatedEvent, NewEvent
from bot.notices.outbox import PermanentFailure, enqueue
from bot.pages.location import LocationKind, location_kind
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

log = logging.getLogger(__name__)

SYNC_EVENT_KIND = "booking.sync_event"
AnnounceLink = Callable[[AsyncSession, User, tuple[str, bool], Booking], None]
"""Queues the visitor's message about a booking's new video link (host, (title, named), booking)."""
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


def booking_description(booking: Booking, *, where: str = "Location", join: str = "Join",
                        place: bool = True) -> str:
    """What the event (and the visitor's invitation) says: where it is and its join link
    (:func:`~bot.booking.location_text.place_lines`, labelled ``where``/``join``; left out
    without ``place``), the visitor's note, then their answers."""
    place_text = (place_lines(booking.location or "", booking.join_url, where=where, join=join)
                  if place else "")
    return "\n\n".join(part for part in (place_text, booking.note, answer_lines(booking.answers)) if part)


def booking_event(
    host: User, title: str, booking: Booking, *, uid: str | None = None, named: bool = True,
    conference: Conference | None = None, labels: tuple[str, str] = ("Location", "Join"),
) -> NewEvent:
    """The calendar event of a booking: the host organizes, the visitor attends.

    Its title is ``title: visitor`` (``named``), or ``title`` alone: a meeting scheduled from a
    contact's record has the title the host gave it. Its location and join link are the
    booking's; ``conference`` asks the calendar to make a video meeting with it instead (the
    booking's place, a moved booking's old link, is then left out: the new meeting brings its
    own); ``labels`` are the description's words for the location and the join link (the
    reader's language).
    """
    place = conference is None
    return NewEvent(
        uid=uid or event_uid(booking),
        title=one_line(f"{title}: {booking.visitor_name}" if named else title),
        start=booking.start_at,
        end=booking.end_at,
        time_zone=host.timezone,
        attendees=(Attendee(booking.visitor_email, booking.visitor_name),),
        description=booking_description(booking, where=labels[0], join=labels[1], place=place),
        location=one_line(booking.location or "") if place else "",
        join_url=(booking.join_url or "") if place else "",
        conference=conference,
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

    def __init__(self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler, *,
                 announce_link: AnnounceLink | None = None) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._announce_link = announce_link

    async def sync(self, payload: dict[str, Any]) -> None:
        """Bring the event of ``payload["booking_id"]`` in step with the booking.

        A video meeting the calendar made with the event (Meet, Teams) has a link the visitor's
        confirmation could not carry: ``announce_link`` (wired to
        :func:`bot.booking.notices.announce_video_link`) sends it, in the transaction that stores it.
        """
        booking_id = int(payload["booking_id"])
        async with self._sessions() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None:
                return
            host = await session.get(User, booking.host_id)
            title = await booking_title(session, booking)
            written = await self._calendar(session, booking.calendar_id)
            page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
            kind = location_kind(page.location_kind if page is not None else "")
        if host is None:
            return
        live = booking.status == "confirmed"
        if booking.external_event_id and (not live or booking.event_sequence != booking.sequence):
            if written is not None:  # a calendar removed since took its events with it
                calendar, connection = written
                provider = self._scheduler.provider_for(connection, zone=host.timezone)
                await provider.delete_event(booking.external_event_id, calendar_id=calendar.external_id)
            # A meeting the calendar made went with its event: its link no longer works.
            gone = ("", None) if conference_of(kind) is not None else None
            await self._store(booking_id, None, None, booking.calendar_id, meeting=gone)
            booking.external_event_id = None
        if live and not booking.external_event_id:
            await self._create(booking, host, title, kind)
        self._scheduler.forget(host.id)

    async def _create(
        self, booking: Booking, host: User, title: tuple[str, bool], kind: LocationKind
    ) -> None:
        async with self._sessions() as session:
            calendar = await default_calendar(session, booking.host_id)
            connection = (
                await session.get(CalendarConnection, calendar.connection_id) if calendar else None
            )
        if calendar is None or connection is None:
            raise PermanentFailure("the host has no default calendar")
        conference = conference_for(kind, connection.provider)
        if conference is None and conference_of(kind) is not None:
            log.warning("booking %s: the page's %s meeting cannot be made in a %s calendar; "
                        "the booking has no video link", booking.id, kind.value, connection.provider)
        provider = self._scheduler.provider_for(connection, zone=host.timezone)
        created = await provider.create_event(
            booking_event(host, title[0], booking, named=title[1], conference=conference),
            calendar_id=calendar.external_id,
        )
        await self._store(booking.id, created.external_id, booking.sequence, calendar.id,
                          meeting=_meeting(conference, created), told=(host, title))

    async def _calendar(
        self, session: AsyncSession, calendar_id: int | None
    ) -> tuple[Calendar, CalendarConnection] | None:
        calendar = await session.get(Calendar, calendar_id) if calendar_id else None
        connection = await session.get(CalendarConnection, calendar.connection_id) if calendar else None
        return None if calendar is None or connection is None else (calendar, connection)

    async def _store(
        self, booking_id: int, external_id: str | None, sequence: int | None, calendar_id: int | None,
        *, meeting: tuple[str, str | None] | None = None, told: tuple[User, tuple[str, bool]] | None = None,
    ) -> None:
        """Record the booking's event; ``meeting`` (location, join link) replaces the booking's
        place when the calendar was asked to make a video meeting. A new link is sent to the
        visitor (``told``: the host and the title) when the booking is live."""
        async with self._sessions() as session, session.begin():
            stored = await session.get(Booking, booking_id)
            if stored is not None:
                stored.external_event_id = external_id
                stored.event_sequence = sequence
                stored.calendar_id = calendar_id
                if meeting is not None:
                    new_link = meeting[1] is not None and meeting[1] != stored.join_url
                    stored.location, stored.join_url = meeting
                    if (new_link and told is not None and self._announce_link is not None
                            and stored.status == "confirmed"):
                        self._announce_link(session, told[0], told[1], stored)


def _meeting(conference: Conference | None, created: CreatedEvent) -> tuple[str, str | None] | None:
    """The booking's place after the calendar was asked for ``conference``: the meeting's name
    and link; nothing at all when it gave no link (None: no meeting was asked for)."""
    if conference is None:
        return None
    if not created.join_url:
        return "", None
    return CONFERENCE_NAMES[conference], created.join_url
