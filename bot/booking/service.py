"""Booking: a visitor takes a slot of a host's scheduling page. No double booking, nothing lost.

:meth:`Bookings.book` re-checks the slot against *live* availability (every checked calendar
must be readable), then writes, in one transaction, the booking, the visitor's contact and
meeting engagement, and the outbox rows (the calendar event in the host's default calendar only --
see :mod:`bot.booking.events` -- and the messages of :mod:`bot.booking.notices`). The database refuses an
overlapping booking, so of two visitors racing for one slot exactly one wins; the other gets
:class:`SlotTaken`.

Without a connected calendar (offline mode) a booking is a *request*: nothing is written to a
calendar and the host is asked to confirm. When a connected calendar lost its access, booking is
blocked: the visitor's details are kept as a :class:`BookingAttempt` and the host is told.

A manage link (an unguessable token; only its hash is stored) cancels or moves a booking:
:meth:`Bookings.cancel` and :meth:`Bookings.reschedule`.
"""

from __future__ import annotations

import hashlib
import re
import secrets as random_secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import enqueue_sync
from bot.booking.notices import announce_blocked, announce_booked, announce_cancelled, announce_moved
from bot.calendar.base import require_aware
from bot.pages.links import Links
from bot.rules import rules_from_json
from bot.scheduling.scheduler import Scheduler
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

EMAIL_PATTERN = re.compile(
    r"^[^@\s<>\"'(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
MAX_NAME, MAX_EMAIL, MAX_NOTE = 200, 320, 5000


def N_(message: str) -> str:
    """Mark a visitor-facing sentence for the ``pages`` catalog; it is translated where shown."""
    return message


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
            raise InvalidVisitor(N_("Please tell us your name."))
        if len(name) > MAX_NAME or len(email) > MAX_EMAIL or len(note) > MAX_NOTE:
            raise InvalidVisitor(N_("Some of the details are too long."))
        if any(c in name + email for c in "\r\n"):
            raise InvalidVisitor(N_("Names and e-mail addresses must be on one line."))
        if not EMAIL_PATTERN.match(email):
            raise InvalidVisitor(N_("Please enter a valid e-mail address."))
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            raise InvalidVisitor(N_("Unknown time zone.")) from None
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
    """Books, moves and cancels; the outbox then writes the event and sends the messages."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: Scheduler,
        *,
        links: Links,
    ) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._links = links

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
        page, host, statuses = await self._bookable(page_id)
        end = await self._check_slot(page, host, start, duration_minutes, now, visitor, statuses)
        offline = not statuses
        async with self._sessions() as session:
            default = (
                await session.execute(
                    select(Calendar).where(Calendar.user_id == host.id, Calendar.is_default)
                )
            ).scalar_one_or_none()
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
                if not offline:
                    enqueue_sync(session, booking)
                manage = self._links.manage(token, hostname=await self._links.hostname_of(session, host))
                announce_booked(session, host, page.title, booking, manage)
        except IntegrityError as exc:
            raise _overlap_or(exc) from None
        self._scheduler.forget(host.id)
        return Confirmation(booking.id, booking.status, start, end, token)

    async def reschedule(self, token: str, *, start: datetime, now: datetime) -> Confirmation:
        """Move the booking of a manage token to ``start`` (same length), if the page offers it."""
        require_aware(start, "start")
        async with self._sessions() as session:
            found = await _by_token(session, token)
        if found is None:
            raise BookingError(N_("This link does not belong to a booking."))
        if found.status == "cancelled":
            raise BookingError(N_("This meeting was cancelled, so it cannot be moved."))
        if found.page_id is None:
            raise PagesOff(N_("The scheduling page of this meeting no longer exists."))
        if found.start_at <= now:
            raise SlotUnavailable(N_("This meeting has already started, so it cannot be moved."))
        page, host, statuses = await self._bookable(found.page_id)
        length = int((found.end_at - found.start_at).total_seconds() // 60)
        visitor = Visitor(found.visitor_name, found.visitor_email, found.timezone, found.note)
        end = await self._check_slot(page, host, start, length, now, visitor, statuses)
        try:
            async with self._sessions() as session, session.begin():
                booking = await session.get(Booking, found.id, with_for_update=True)
                if booking is None or booking.status == "cancelled":
                    raise BookingError(N_("This meeting was cancelled, so it cannot be moved."))
                previous = booking.start_at
                booking.start_at, booking.end_at = start, end
                booking.sequence += 1
                await session.flush()
                for item in (
                    await session.execute(
                        select(MeetingEngagement).where(MeetingEngagement.booking_id == booking.id)
                    )
                ).scalars():
                    item.start_at, item.end_at = start, end
                if booking.status == "confirmed":
                    enqueue_sync(session, booking)
                manage = self._links.manage(token, hostname=await self._links.hostname_of(session, host))
                announce_moved(session, host, page.title, booking, previous, manage)
        except IntegrityError as exc:
            raise _overlap_or(exc) from None
        self._scheduler.forget(host.id)
        return Confirmation(booking.id, booking.status, start, end, token)

    async def _bookable(self, page_id: int) -> tuple[SchedulingPage, User, list[str]]:
        """The page, its host and its connections' states; refuses pages that are off."""
        async with self._sessions() as session:
            page = await session.get(SchedulingPage, page_id)
            host = await session.get(User, page.owner_id) if page is not None else None
            if page is None or host is None:
                raise PagesOff(N_("This scheduling page does not exist."))
            statuses = (
                await session.execute(
                    select(CalendarConnection.status).where(CalendarConnection.user_id == host.id)
                )
            ).scalars().all()
        if not (host.pages_enabled and page.enabled):
            raise PagesOff(N_("This page is not taking bookings right now."))
        return page, host, list(statuses)

    async def _check_slot(
        self, page: SchedulingPage, host: User, start: datetime, minutes: int, now: datetime,
        visitor: Visitor, statuses: list[str],
    ) -> datetime:
        """The slot's end, when ``start`` is offered now by live availability; else raise."""
        if minutes not in page.durations:
            raise SlotUnavailable(N_("That meeting length is not offered on this page."))
        end = start + timedelta(minutes=minutes)
        if any(status != "active" for status in statuses):
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
            duration_minutes=minutes,
            live=True,
        )
        if not answer.complete:
            await self.keep_attempt(page, host, visitor, start, "calendar_unreadable")
            raise BookingBlocked(
                "Booking is temporarily unavailable because a calendar could not be checked. "
                f"We kept your details and told {host.display_name}."
            )
        if not any(s.start == start and s.end == end for s in answer.result.slots):
            raise SlotTaken(N_("That time is no longer available. Please pick another one."))
        return end

    async def keep_attempt(
        self, page: SchedulingPage, host: User, visitor: Visitor, start: datetime | None, reason: str
    ) -> None:
        """Keep a visitor's details when booking is blocked, and tell the host."""
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
            announce_blocked(session, host, page.title, visitor.name, visitor.email, visitor.note, start)

    async def _record_contact(
        self, session: AsyncSession, host_id: int, booking: Booking, title: str
    ) -> None:
        email = booking.visitor_email.lower()
        query = select(Contact).where(Contact.owner_id == host_id, Contact.email == email)
        contact = (await session.execute(query)).scalar_one_or_none()
        if contact is None:
            try:
                async with session.begin_nested():
                    contact = Contact(owner_id=host_id, email=email, name=booking.visitor_name)
                    session.add(contact)
                    await session.flush()
            except IntegrityError:
                # The same new visitor booking another slot at this very moment created it first.
                contact = (await session.execute(query)).scalar_one()
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

    async def cancel(self, token: str) -> Booking:
        """Cancel the booking of a manage token: free the time, remove the event, tell both."""
        async with self._sessions() as session, session.begin():
            booking = await _by_token(session, token)
            if booking is None:
                raise BookingError(N_("This link is not valid."))
            if booking.status == "cancelled":
                return booking
            was_confirmed = booking.status == "confirmed"
            booking.status, booking.cancelled_at = "cancelled", utcnow()
            booking.sequence += 1
            host = await session.get(User, booking.host_id)
            page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
            for item in (
                await session.execute(
                    select(MeetingEngagement).where(MeetingEngagement.booking_id == booking.id)
                )
            ).scalars():
                item.cancelled = True
            if was_confirmed:
                enqueue_sync(session, booking)
            if host is not None:
                announce_cancelled(session, host, page.title if page else "Meeting", booking)
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


def _overlap_or(error: IntegrityError) -> Exception:
    """The database refused an overlapping booking: someone else was first. Anything else is a bug."""
    if "bookings_no_overlap" in str(error.orig):
        return SlotTaken(N_("That time was just taken. Please pick another one."))
    return error


async def _by_token(session: AsyncSession, token: str) -> Booking | None:
    return (
        await session.execute(select(Booking).where(Booking.manage_token_hash == token_hash(token)))
    ).scalar_one_or_none()
