"""Booking: a visitor takes a slot of a host's scheduling page. No double booking, nothing lost.

:meth:`Bookings.book` re-checks the slot against *live* availability (every checked calendar
must be readable), then writes, in one transaction, the booking, the visitor's contact and
meeting engagement, and the outbox rows (the calendar event in the host's default calendar only,
the visitor's confirmation with an invitation, the host's notice). The database refuses an
overlapping booking, so of two visitors racing for one slot exactly one wins; the other gets
:class:`SlotTaken`.

Without a connected calendar (offline mode) a booking is a *request*: nothing is written to a
calendar and the host is asked to confirm. When a connected calendar lost its access, booking is
blocked: the visitor's details are kept as a :class:`BookingAttempt` and the host is told.
"""

from __future__ import annotations

import hashlib
import re
import secrets as random_secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import Attendee, NewEvent, require_aware
from bot.invitations import event_to_ics
from bot.notify import enqueue_email
from bot.outbox import PermanentFailure, enqueue
from bot.rules import rules_from_json
from bot.scheduling import Scheduler
from storage.models import (
    Booking,
    BookingAttempt,
    Calendar,
    CalendarConnection,
    Contact,
    MeetingEngagement,
    SchedulingPage,
    User,
    utcnow,
)

CREATE_EVENT_KIND = "booking.create_event"
DELETE_EVENT_KIND = "booking.delete_event"
EMAIL_PATTERN = re.compile(
    r"^[^@\s<>\"'(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
MAX_NAME, MAX_EMAIL, MAX_NOTE = 200, 320, 5000


class BookingError(Exception):
    """A booking that cannot be made; the message is a sentence for the visitor."""

    code = "invalid"


class InvalidVisitor(BookingError):
    """The visitor's details are not acceptable."""


class SlotUnavailable(BookingError):
    """The time is not one the page offers (past, outside the rules, wrong duration)."""

    code = "unavailable"


class SlotTaken(BookingError):
    """Someone else booked the time first."""

    code = "taken"


class PagesOff(BookingError):
    """The host's pages (or this page) are not taking bookings."""

    code = "off"


class BookingBlocked(BookingError):
    """A connected calendar cannot be read: nobody can book until the host fixes it."""

    code = "blocked"


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a visitor typed."""

    name: str
    email: str
    timezone: str = "UTC"
    note: str = ""
    answers: dict[str, str] = field(default_factory=dict)

    def validated(self) -> Visitor:
        """The same details, trimmed; raises :class:`InvalidVisitor` for unusable ones."""
        name, email, note = self.name.strip(), self.email.strip(), self.note.strip()
        if not name:
            raise InvalidVisitor("Please tell us your name.")
        if len(name) > MAX_NAME or len(email) > MAX_EMAIL or len(note) > MAX_NOTE:
            raise InvalidVisitor("Some of the details are too long.")
        if any(c in name + email for c in "\r\n"):
            raise InvalidVisitor("Names and e-mail addresses must be on one line.")
        if not EMAIL_PATTERN.match(email):
            raise InvalidVisitor("Please enter a valid e-mail address.")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            raise InvalidVisitor("Unknown time zone.") from None
        answers = {str(k)[:100]: str(v)[:MAX_NOTE] for k, v in self.answers.items()}
        return Visitor(name, email, self.timezone, note, answers)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A made booking (or request) and the secret manage token (shown once, in the link)."""

    booking_id: int
    status: str
    start: datetime
    end: datetime
    manage_token: str


def token_hash(token: str) -> str:
    """The stored form of a manage token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Bookings:
    """Books, and (through the outbox) writes the event and sends the mails."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: Scheduler,
        *,
        base_url: str,
    ) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._base_url = base_url

    async def book(
        self,
        page_id: int,
        *,
        start: datetime,
        duration_minutes: int,
        visitor: Visitor,
        now: datetime,
    ) -> Confirmation:
        """Book ``start`` for ``duration_minutes`` on page ``page_id`` (see the module doc)."""
        require_aware(start, "start")
        visitor = visitor.validated()
        async with self._sessions() as session:
            page = await session.get(SchedulingPage, page_id)
            host = await session.get(User, page.owner_id) if page is not None else None
            if page is None or host is None:
                raise PagesOff("This scheduling page does not exist.")
            connections = (
                await session.execute(
                    select(CalendarConnection).where(CalendarConnection.user_id == host.id)
                )
            ).scalars().all()
            default = (
                await session.execute(
                    select(Calendar).where(Calendar.user_id == host.id, Calendar.is_default)
                )
            ).scalar_one_or_none()
        if not (host.pages_enabled and page.enabled):
            raise PagesOff(f"{host.display_name} is not taking bookings right now.")
        if duration_minutes not in page.durations:
            raise SlotUnavailable("That meeting length is not offered on this page.")
        end = start + timedelta(minutes=duration_minutes)
        if any(c.status != "active" for c in connections):
            await self.keep_attempt(page, host, visitor, start, "calendar_access")
            raise BookingBlocked(
                "Booking is temporarily unavailable. We kept your details and told "
                f"{host.display_name}, who will get back to you."
            )
        zone = ZoneInfo(host.timezone)
        day = start.astimezone(zone).date()
        rules = rules_from_json(page.rules, timezone=host.timezone, durations=page.durations)
        answer = await self._scheduler.availability(
            host.id,
            start=datetime.combine(day, time(0), zone),
            end=datetime.combine(day + timedelta(days=1), time(0), zone),
            now=now,
            rules=rules,
            duration_minutes=duration_minutes,
            live=True,
        )
        if not answer.complete:
            await self.keep_attempt(page, host, visitor, start, "calendar_unreadable")
            raise BookingBlocked(
                "Booking is temporarily unavailable because a calendar could not be checked. "
                f"We kept your details and told {host.display_name}."
            )
        offered = any(s.start == start and s.end == end for s in answer.result.slots)
        if not offered:
            raise SlotTaken("That time is no longer available. Please pick another one.")
        offline = not connections
        token = random_secrets.token_urlsafe(24)  # 192 bits
        try:
            async with self._sessions() as session, session.begin():
                booking = Booking(
                    page_id=page.id,
                    host_id=host.id,
                    start_at=start,
                    end_at=end,
                    timezone=visitor.timezone,
                    visitor_name=visitor.name,
                    visitor_email=visitor.email,
                    note=visitor.note,
                    answers=visitor.answers,
                    status="requested" if offline else "confirmed",
                    manage_token_hash=token_hash(token),
                    calendar_id=None if default is None else default.id,
                )
                session.add(booking)
                await session.flush()
                await self._record_contact(session, host.id, booking, page.title)
                self._side_effects(session, host, page, booking, token, offline)
        except IntegrityError:
            raise SlotTaken("That time was just taken. Please pick another one.") from None
        self._scheduler.forget(host.id)
        return Confirmation(booking.id, booking.status, start, end, token)

    async def keep_attempt(
        self, page: SchedulingPage, host: User, visitor: Visitor, start: datetime | None, reason: str
    ) -> None:
        """Keep a visitor's details when booking is blocked, and tell the host."""
        when = (
            f"{start.astimezone(ZoneInfo(host.timezone)):%A %d %B %Y %H:%M} ({host.timezone})"
            if start is not None
            else "a time to be agreed"
        )
        async with self._sessions() as session, session.begin():
            session.add(
                BookingAttempt(
                    host_id=host.id,
                    page_id=page.id,
                    start_at=start,
                    timezone=visitor.timezone,
                    visitor_name=visitor.name,
                    visitor_email=visitor.email,
                    note=visitor.note,
                    answers=visitor.answers,
                    reason=reason,
                )
            )
            _tell_host(
                session,
                host,
                subject=f"Slotbot: {visitor.name} tried to book you",
                text=(
                    f"{visitor.name} <{visitor.email}> tried to book “{page.title}” for "
                    f"{when}, but booking is blocked because one of your calendars "
                    "cannot be read.\n\n"
                    f"Their note: {visitor.note or '(none)'}\n\n"
                    "To take bookings again, reconnect the calendar or remove the inactive "
                    "one in your settings (\"settings\" in chat)."
                ),
            )

    async def _record_contact(
        self, session: AsyncSession, host_id: int, booking: Booking, title: str
    ) -> None:
        email = booking.visitor_email.lower()
        async with session.begin_nested():
            contact = (
                await session.execute(
                    select(Contact).where(Contact.owner_id == host_id, Contact.email == email)
                )
            ).scalar_one_or_none()
            if contact is None:
                contact = Contact(owner_id=host_id, email=email, name=booking.visitor_name)
                session.add(contact)
                await session.flush()
            else:
                contact.name = booking.visitor_name
        session.add(
            MeetingEngagement(
                contact_id=contact.id,
                booking_id=booking.id,
                source="booking",
                source_key=f"booking:{booking.id}",
                title=title,
                start_at=booking.start_at,
                end_at=booking.end_at,
            )
        )

    def _side_effects(
        self,
        session: AsyncSession,
        host: User,
        page: SchedulingPage,
        booking: Booking,
        token: str,
        offline: bool,
    ) -> None:
        event = booking_event(host, page.title, booking)
        manage = f"{self._base_url}/meetings/manage/{token}"
        local = booking.start_at.astimezone(ZoneInfo(booking.timezone))
        when = f"{local:%A %d %B %Y, %H:%M} ({booking.timezone})"
        if offline:
            enqueue_email(
                session,
                to=booking.visitor_email,
                to_name=booking.visitor_name,
                subject=f"Requested: {page.title} with {host.display_name}",
                text=(
                    f"Thank you, {booking.visitor_name}. You asked for {when}. "
                    f"{host.display_name} will confirm it.\n\nChange or cancel: {manage}"
                ),
            )
        else:
            enqueue(session, CREATE_EVENT_KIND, {"booking_id": booking.id},
                    dedupe_key=f"create-event:{booking.id}")
            enqueue_email(
                session,
                to=booking.visitor_email,
                to_name=booking.visitor_name,
                subject=f"Booked: {page.title} with {host.display_name}",
                text=(
                    f"Thank you, {booking.visitor_name}. You are booked for {when}.\n\n"
                    f"Change or cancel: {manage}"
                ),
                ics=event_to_ics(event, method="REQUEST"),
            )
        verb = "requested" if offline else "booked"
        _tell_host(
            session,
            host,
            subject=f"{booking.visitor_name} {verb} {page.title}",
            text=(
                f"{booking.visitor_name} <{booking.visitor_email}> {verb} “{page.title}” for "
                f"{booking.start_at.astimezone(ZoneInfo(host.timezone)):%A %d %B %Y %H:%M} "
                f"({host.timezone}).\n\nNote: {booking.note or '(none)'}"
                + ("\n\nNo calendar is connected, so please confirm it yourself." if offline else "")
            ),
        )

    async def cancel(self, token: str) -> Booking:
        """Cancel the booking of a manage token: free the time, remove the event, tell both."""
        async with self._sessions() as session, session.begin():
            booking = await _by_token(session, token)
            if booking is None:
                raise BookingError("This link is not valid.")
            if booking.status == "cancelled":
                return booking
            booking.status, booking.cancelled_at = "cancelled", utcnow()
            host = await session.get(User, booking.host_id)
            page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
            title = page.title if page else "Meeting"
            engagement = (
                await session.execute(
                    select(MeetingEngagement).where(MeetingEngagement.booking_id == booking.id)
                )
            ).scalars()
            for item in engagement:
                item.cancelled = True
            enqueue(session, DELETE_EVENT_KIND, {"booking_id": booking.id},
                    dedupe_key=f"delete-event:{booking.id}")
            local = booking.start_at.astimezone(ZoneInfo(booking.timezone))
            if host is not None:
                enqueue_email(
                    session,
                    to=booking.visitor_email,
                    to_name=booking.visitor_name,
                    subject=f"Cancelled: {title} with {host.display_name}",
                    text=f"Your meeting on {local:%A %d %B %Y, %H:%M} ({booking.timezone}) is cancelled.",
                    ics=event_to_ics(booking_event(host, title, booking), method="CANCEL",
                                     sequence=1, cancelled=True),
                )
                _tell_host(
                    session,
                    host,
                    subject=f"{booking.visitor_name} cancelled {title}",
                    text=(
                        f"{booking.visitor_name} <{booking.visitor_email}> cancelled "
                        f"{booking.start_at.astimezone(ZoneInfo(host.timezone)):%A %d %B %Y %H:%M}."
                    ),
                )
        self._scheduler.forget(booking.host_id)
        return booking

    async def by_token(self, token: str) -> tuple[Booking, User, SchedulingPage | None] | None:
        """The booking of a manage token, with its host and page."""
        async with self._sessions() as session:
            booking = await _by_token(session, token)
            if booking is None:
                return None
            host = await session.get(User, booking.host_id)
            page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
        return (booking, host, page) if host is not None else None

    async def delete_event(self, payload: dict[str, Any]) -> None:
        """Outbox handler: remove a cancelled booking's event from the calendar it was written to."""
        async with self._sessions() as session:
            booking = await session.get(Booking, int(payload["booking_id"]))
            if booking is None or booking.calendar_id is None or not booking.external_event_id:
                return
            calendar = await session.get(Calendar, booking.calendar_id)
            connection = (
                await session.get(CalendarConnection, calendar.connection_id) if calendar else None
            )
        if calendar is None or connection is None:
            return
        provider = self._scheduler.provider_for(connection)
        await provider.delete_event(booking.external_event_id, calendar_id=calendar.external_id)
        self._scheduler.forget(booking.host_id)

    async def create_event(self, payload: dict[str, Any]) -> None:
        """Outbox handler: write the booking's event into the host's default calendar."""
        async with self._sessions() as session:
            booking = await session.get(Booking, int(payload["booking_id"]))
            if booking is None or booking.status == "cancelled":
                return
            calendar = await session.get(Calendar, booking.calendar_id) if booking.calendar_id else None
            if calendar is None or not calendar.is_default:
                calendar = (
                    await session.execute(
                        select(Calendar).where(Calendar.user_id == booking.host_id, Calendar.is_default)
                    )
                ).scalar_one_or_none()
            if calendar is None:
                raise PermanentFailure("the host has no default calendar")
            connection = await session.get(CalendarConnection, calendar.connection_id)
            host = await session.get(User, booking.host_id)
            page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
        if connection is None or host is None:
            raise PermanentFailure("the booking's calendar is gone")
        provider = self._scheduler.provider_for(connection, zone=host.timezone)
        created = await provider.create_event(
            booking_event(host, page.title if page else "Meeting", booking),
            calendar_id=calendar.external_id,
        )
        async with self._sessions() as session, session.begin():
            stored = await session.get(Booking, booking.id)
            if stored is not None:
                stored.external_event_id = created.external_id
                stored.calendar_id = calendar.id
        self._scheduler.forget(host.id)


def booking_event(host: User, title: str, booking: Booking) -> NewEvent:
    """The calendar event of a booking: the visitor is the attendee."""
    return NewEvent(
        uid=f"slotbot-booking-{booking.id}@slotbot",
        title=f"{title}: {booking.visitor_name}",
        start=booking.start_at,
        end=booking.end_at,
        time_zone=host.timezone,
        attendees=(Attendee(booking.visitor_email, booking.visitor_name),),
        description=booking.note,
        organizer=Attendee(host.email, host.display_name) if host.email else None,
    )


def _tell_host(session: AsyncSession, host: User, *, subject: str, text: str) -> None:
    """E-mail the host (when they have an address) once the transaction commits."""
    if host.email:
        enqueue_email(session, to=host.email, to_name=host.display_name, subject=subject, text=text)


async def _by_token(session: AsyncSession, token: str) -> Booking | None:
    return (
        await session.execute(select(Booking).where(Booking.manage_token_hash == token_hash(token)))
    ).scalar_one_or_none()
