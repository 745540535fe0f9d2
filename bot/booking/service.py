"""Booking: a visitor takes a slot of a host's scheduling page. No double booking, nothing lost.

:meth:`Bookings.book` is given the visitor request's :class:`~bot.pages.public.PublicView` (host,
page, connection states and rules, read once by :mod:`bot.pages.public`). It re-checks the slot
against *live* availability (every checked calendar must be readable), then writes, in one
transaction, the booking, the visitor's contact and meeting engagement, and the outbox rows (the
calendar event in the host's default calendar only -- see :mod:`bot.booking.events` -- and the
messages of :mod:`bot.booking.notices`); the booking takes its place from the page
(:func:`~bot.booking.location_text.booking_place`). Inside that transaction the host's connection states are
read once more: they must still give the mode the slot was checked in. The database refuses an
overlapping booking, so of two visitors racing for one slot exactly one wins; the other gets
:class:`SlotTaken`.

Without a connected calendar (offline mode) a booking is a *request*: nothing is written to a
calendar and the host is asked to confirm. When a connected calendar lost its access, booking is
blocked (:func:`bot.pages.public.booking_mode` decides): the visitor's details are kept as a
:class:`BookingAttempt` and the host is told.

A manage link (an unguessable token; only its hash is stored) cancels or moves a booking:
:meth:`Bookings.cancel` and :meth:`Bookings.reschedule`. What a visitor typed and the refusals
they are shown live in :mod:`bot.booking.visitor`.
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.calendars import default_calendar
from bot.booking.changes import cancel_booking, move_booking
from bot.booking.events import booking_title, enqueue_sync
from bot.booking.location_text import booking_place
from bot.booking.notices import announce_blocked, announce_booked, announce_cancelled, announce_moved
from bot.booking.reminders import plan_reminders
from bot.booking.visitor import (
    N_,
    BookingBlocked,
    BookingError,
    BookingOpen,
    PagesOff,
    SlotTaken,
    SlotUnavailable,
    Visitor,
)
from bot.calendar.base import require_aware
from bot.pages.links import Links
from bot.pages.public import (
    ManagedBooking,
    Mode,
    PublicPages,
    PublicView,
    booking_mode,
    connection_states,
    token_hash,
)
from bot.scheduling.scheduler import Scheduler
from storage.models import (
    Booking,
    BookingAttempt,
    Contact,
    MeetingEngagement,
    User,
)

MAX_REASON = 2000  # characters of a cancel reason kept


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A made booking (or request) and the secret manage token (shown once, in the link)."""

    booking_id: int
    status: str
    start: datetime
    end: datetime
    manage_token: str
    location: str = ""  # where the meeting is, as the visitor is told (bookings.location)
    join_url: str | None = None  # its video link, when it has one


class _ModeChanged(Exception):
    """Inside the write transaction: the host's connections no longer allow the checked mode."""

    def __init__(self, mode: Mode) -> None:
        super().__init__(mode.value)
        self.mode = mode


class Bookings:
    """Books, moves and cancels; the outbox then writes the event and sends the messages."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler, *, links: Links
    ) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._links = links
        self._public = PublicPages(sessions, links=links)  # when the caller has not read the page

    async def book(
        self, page: PublicView | int, *, start: datetime, duration_minutes: int, visitor: Visitor,
        now: datetime,
    ) -> Confirmation:
        """Book ``start`` for ``duration_minutes`` on ``page`` (see the module doc).

        ``page`` is the visitor's request's view of the page (read once by
        :class:`~bot.pages.public.PublicPages`), or a page id to read it here.
        """
        require_aware(start, "start")
        visitor = visitor.validated()
        view = page if isinstance(page, PublicView) else await self._public.view_of(page)
        if view is None:
            raise PagesOff(N_("This scheduling page does not exist."))
        end = await self._check_slot(view, start, duration_minutes, now, visitor)
        host = view.host
        token = random_secrets.token_urlsafe(24)  # 192 bits
        try:
            async with self._sessions() as session, session.begin():
                await self._still(session, view)
                default = await default_calendar(session, host.id)
                place = booking_place(view.page.location_kind, view.page.location_value, visitor.answers)
                booking = Booking(
                    page_id=view.page.id,
                    host_id=host.id,
                    start_at=start,
                    end_at=end,
                    timezone=visitor.timezone,
                    visitor_name=visitor.name,
                    visitor_email=visitor.email,
                    note=visitor.note,
                    answers=visitor.answers,
                    language=visitor.language,
                    status="requested" if view.mode is Mode.OFFLINE else "confirmed",
                    manage_token_hash=token_hash(token),
                    calendar_id=None if default is None else default.id,
                    location=place.location,
                    join_url=place.join_url,
                )
                session.add(booking)
                await session.flush()
                await self._record_contact(session, host.id, booking, view.page.title)
                if view.mode is not Mode.OFFLINE:
                    enqueue_sync(session, booking)
                manage = self._links.manage(token, hostname=host.hostname)
                announce_booked(session, host.as_user(), view.page.title, booking, manage)
                plan_reminders(session, booking, view.page, manage, now=now)
        except IntegrityError as exc:
            raise _overlap_or(exc) from None
        except _ModeChanged as changed:
            raise await self._changed(changed.mode, view, visitor, start) from None
        self._scheduler.forget(host.id)
        return Confirmation(booking.id, booking.status, start, end, token, location=booking.location or "",
                            join_url=booking.join_url)

    async def reschedule(
        self, token: str, *, start: datetime, now: datetime, found: ManagedBooking | None = None
    ) -> Confirmation:
        """Move the booking of a manage token to ``start`` (same length), if the page offers it.

        ``found`` is the booking as the manage link's request read it (else it is read here).
        """
        require_aware(start, "start")
        found = found or await self._public.booking(token)
        if found is None:
            raise BookingError(N_("This link does not belong to a booking."))
        if found.status == "cancelled":
            raise BookingError(N_("This meeting was cancelled, so it cannot be moved."))
        if found.view is None:
            raise PagesOff(N_("The scheduling page of this meeting no longer exists."))
        if found.start <= now:
            raise SlotUnavailable(N_("This meeting has already started, so it cannot be moved."))
        view = found.view
        length = int((found.end - found.start).total_seconds() // 60)
        visitor = Visitor(found.visitor_name, found.visitor_email, found.timezone, found.note)
        end = await self._check_slot(view, start, length, now, visitor)
        try:
            async with self._sessions() as session, session.begin():
                await self._still(session, view)
                booking = await session.get(Booking, found.id, with_for_update=True)
                if booking is None or booking.status == "cancelled":
                    raise BookingError(N_("This meeting was cancelled, so it cannot be moved."))
                previous = await move_booking(session, booking, start, end)
                manage = self._links.manage(token, hostname=view.host.hostname)
                announce_moved(session, view.host.as_user(), view.page.title, booking, previous, manage)
                plan_reminders(session, booking, view.page, manage, now=now)
        except IntegrityError as exc:
            raise _overlap_or(exc) from None
        except _ModeChanged as changed:
            raise await self._changed(changed.mode, view, visitor, start) from None
        self._scheduler.forget(view.host.id)
        return Confirmation(booking.id, booking.status, start, end, token)

    async def _check_slot(
        self, view: PublicView, start: datetime, minutes: int, now: datetime, visitor: Visitor
    ) -> datetime:
        """The slot's end, when ``start`` is offered now by live availability; else raise."""
        if view.mode is Mode.OFF or view.rules is None:
            raise PagesOff(N_("This page is not taking bookings right now."))
        if minutes not in view.page.durations:
            raise SlotUnavailable(N_("That meeting length is not offered on this page."))
        end = start + timedelta(minutes=minutes)
        if view.mode is Mode.BLOCKED:
            raise await self._changed(Mode.BLOCKED, view, visitor, start)
        host = view.host
        zone = ZoneInfo(host.timezone)
        day = start.astimezone(zone).date()
        answer = await self._scheduler.availability(
            host.id,
            start=datetime.combine(day, time(0), zone),
            end=datetime.combine(day + timedelta(days=1), time(0), zone),
            now=now,
            rules=view.rules,
            duration_minutes=minutes,
            live=True,
        )
        if not answer.complete:
            await self.keep_attempt(view, visitor, start, "calendar_unreadable")
            raise BookingBlocked(
                "Booking is temporarily unavailable because a calendar could not be checked. "
                f"We kept your details and told {host.display_name}."
            )
        if not any(s.start == start and s.end == end for s in answer.result.slots):
            raise SlotTaken(N_("That time is no longer available. Please pick another one."))
        return end

    @staticmethod
    async def _still(session: AsyncSession, view: PublicView) -> None:
        """Inside the write: the host's connections still give the mode the slot was checked in."""
        mode = booking_mode(await connection_states(session, view.host.id))
        if mode is not view.mode:
            raise _ModeChanged(mode)

    async def _changed(self, mode: Mode, view: PublicView, visitor: Visitor, start: datetime) -> BookingError:
        """The refusal when the host's connections do not allow booking ``start`` as checked."""
        if mode is Mode.BLOCKED:
            await self.keep_attempt(view, visitor, start, "calendar_access")
            return BookingBlocked(
                "Booking is temporarily unavailable. We kept your details and told "
                f"{view.host.display_name}, who will get back to you."
            )
        # A calendar was connected or disconnected meanwhile: the time was checked against others.
        return SlotTaken(N_("That time is no longer available. Please pick another one."))

    async def leave_details(self, view: PublicView, visitor: Visitor) -> None:
        """Keep a visitor's details for the host because booking is blocked (the page's form).

        Only while it really is: the page is on and a connected calendar cannot be read
        (:func:`~bot.pages.public.booking_mode`, as read for this request). Otherwise the host
        would be told of a problem that is not there, in words the visitor chose.
        """
        if view.mode is Mode.OFF:
            raise PagesOff(N_("This page is not taking bookings right now."))
        if view.mode is not Mode.BLOCKED:
            raise BookingOpen(N_("Booking is open again. Please pick a time from the list."))
        await self.keep_attempt(view, visitor.validated(), None, "left_details")

    async def keep_attempt(
        self, view: PublicView, visitor: Visitor, start: datetime | None, reason: str
    ) -> None:
        """Keep a visitor's details when booking is blocked, and tell the host."""
        async with self._sessions() as session, session.begin():
            session.add(
                BookingAttempt(
                    host_id=view.host.id,
                    page_id=view.page.id,
                    start_at=start,
                    timezone=visitor.timezone,
                    visitor_name=visitor.name,
                    visitor_email=visitor.email,
                    note=visitor.note,
                    answers=visitor.answers,
                    reason=reason,
                )
            )
            announce_blocked(session, view.host.as_user(), view.page.title, visitor.name,
                             visitor.email, visitor.note, start, visitor.answers)

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

    async def cancel(self, token: str, reason: str = "") -> Booking:
        """Cancel the booking of a manage token: free the time, remove the event, tell both.

        ``reason``: the visitor's optional words for the host (kept on the booking)."""
        async with self._sessions() as session, session.begin():
            booking = await _by_token(session, token)
            if booking is None:
                raise BookingError(N_("This link is not valid."))
            if booking.status == "cancelled":
                return booking
            title, named = await booking_title(session, booking)
            booking.cancel_reason = reason.strip()[:MAX_REASON]
            await cancel_booking(session, booking)
            host = await session.get(User, booking.host_id)
            if host is not None:
                announce_cancelled(session, host, title, booking, named=named)
        self._scheduler.forget(booking.host_id)
        return booking


def _overlap_or(error: IntegrityError) -> Exception:
    """The database refused an overlapping booking: someone else was first. Anything else is a bug."""
    if "bookings_no_overlap" in str(error.orig):
        return SlotTaken(N_("That time was just taken. Please pick another one."))
    return error


async def _by_token(session: AsyncSession, token: str) -> Booking | None:
    return (
        await session.execute(select(Booking).where(Booking.manage_token_hash == token_hash(token)))
    ).scalar_one_or_none()
