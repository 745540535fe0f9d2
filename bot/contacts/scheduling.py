"""Meetings scheduled from a contact's record (S13): free times, schedule, move, cancel.

Start with :class:`RecordMeetings`. :meth:`~RecordMeetings.free_times` offers the host's first
free starts for a length (their availability under their default page's rules, from a day or
from now). :meth:`~RecordMeetings.schedule` re-checks the time against *live* availability
(every checked calendar must be readable, as booking does) and then, in one transaction:

* **calendar sync on** (``User.calendar_sync``) and a default calendar Slotbot can write: a
  :class:`~storage.models.Booking` without a page (the contact as visitor, in the host's zone),
  its event written to the default calendar through the outbox
  (:func:`bot.booking.events.enqueue_sync`) and the invitation e-mailed to the contact
  (:func:`bot.booking.notices.announce_booked`), plus one engagement (source ``contact_record``)
  linked to it;
* **sync off** (or no calendar to write to): only the engagement. Nothing is written or sent.

Either way exactly one engagement is recorded (:func:`bot.contacts.engagements.record`);
:meth:`~RecordMeetings.move` and :meth:`~RecordMeetings.cancel` change the booking through
:mod:`bot.booking.changes` (the contact is told) or only the engagement. A recorded-only meeting
holds no booking, so it is also checked here: two of them never overlap. A refusal is a
:class:`MeetingRefused` with a ``code`` and an English sentence; another host's contact or
meeting is :class:`MeetingNotFound`.
"""

from __future__ import annotations

import re
import secrets as random_secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.calendars import default_calendar
from bot.availability import AvailabilityRules
from bot.booking.changes import cancel_booking, move_booking
from bot.booking.events import RECORD_SOURCE, enqueue_sync
from bot.booking.notices import announce_booked, announce_cancelled, announce_moved
from bot.calendar.base import AccessRole, require_aware
from bot.contacts import engagements
from bot.contacts.directory import ContactDetails, ContactRefused, Contacts
from bot.pages.links import Links
from bot.pages.public import pages_default_first, token_hash
from bot.plain_text import one_line
from bot.rules import RulesError, rules_from_json
from bot.scheduling.scheduler import Scheduler
from storage.models import Booking, Calendar, CalendarConnection, Contact, MeetingEngagement, User

LENGTHS = (15, 30, 45, 60)
"""The lengths the record page offers (chat may ask for any from 5 minutes to 8 hours)."""
MAX_TIMES = 8
SEARCH_DAYS = 14
MAX_TITLE = 200


class MeetingNotFound(LookupError):
    """No such contact or meeting among the host's own."""


class MeetingRefused(Exception):
    """The meeting cannot be scheduled or changed; ``code`` says why, the message in a sentence."""

    def __init__(self, code: str, sentence: str) -> None:
        super().__init__(sentence)
        self.code = code


@dataclass(frozen=True, slots=True)
class FreeTimes:
    """The first free starts for a meeting of ``minutes`` (aware UTC), and the host's zone."""

    starts: tuple[datetime, ...]
    minutes: int
    zone: str


@dataclass(frozen=True, slots=True)
class RecordMeeting:
    """A meeting on a record after a change; ``sent``: the contact got (or gets) an e-mail."""

    engagement_id: int
    booking_id: int | None
    contact_id: int
    contact_name: str
    contact_email: str
    title: str
    start: datetime
    end: datetime
    sent: bool


def name_from_address(email: str) -> str:
    """A name for a contact known only by address: ``ana.souza@x`` -> ``Ana Souza``."""
    words = [w for w in re.split(r"[._+\-]+", email.partition("@")[0]) if w and not w.isdigit()]
    return " ".join(w[:1].upper() + w[1:] for w in words) or email


def check_length(minutes: int) -> None:
    """Refuse a meeting length outside 5 minutes to 8 hours."""
    if not 5 <= minutes <= 8 * 60:
        raise MeetingRefused("length", "A meeting can be 5 minutes to 8 hours long.")


class RecordMeetings:
    """Schedules, moves and cancels the meetings hosts make from their contacts' records."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], scheduler: Scheduler, *,
                 links: Links, contacts: Contacts | None = None) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._links = links
        self._contacts = contacts or Contacts(sessions)

    async def free_times(
        self, host_id: int, minutes: int, *, day: date | None = None, now: datetime,
        start: datetime | None = None, end: datetime | None = None, limit: int = MAX_TIMES,
    ) -> FreeTimes:
        """The first ``limit`` free starts: in ``[start, end)`` when given, else from ``day``
        (the host's local day) or from now, over :data:`SEARCH_DAYS` days."""
        require_aware(now, "now")
        check_length(minutes)
        async with self._sessions() as session:
            user, rules = await self._host(session, host_id, minutes)
        zone = ZoneInfo(user.timezone)
        if start is None or end is None:
            first = day or now.astimezone(zone).date()
            start = datetime.combine(first, time(0), zone)
            end = datetime.combine(first + timedelta(days=SEARCH_DAYS), time(0), zone)
        require_aware(start, "start")
        found = await self._scheduler.availability(
            host_id, start=max(start, now), end=end, now=now, rules=rules, duration_minutes=minutes
        )
        if not found.complete:
            raise _unreadable([p.name for p in found.problems])
        async with self._sessions() as session:
            recorded = await _recorded(session, host_id, start, end)
        starts = [slot.start for slot in found.result.slots
                  if not any(s < slot.end and slot.start < e for s, e, _ in recorded)]
        return FreeTimes(tuple(starts[:limit]), minutes, user.timezone)

    async def sends_invitations(self, host_id: int) -> bool:
        """Whether a meeting scheduled now would be written to a calendar and sent."""
        async with self._sessions() as session:
            user = await session.get(User, host_id)
            return user is not None and await _writable_default(session, user) is not None

    async def contact_for(self, host_id: int, email: str) -> tuple[Contact, bool]:
        """The host's contact with this address, made (named from the address) when there is
        none; and whether it was made. :class:`MeetingRefused` (``address``) for a bad one."""
        try:
            details = ContactDetails(email=email).validated()
        except ContactRefused:
            raise MeetingRefused("address", "That is not a valid e-mail address.") from None
        found = await self._contacts.find(host_id, details.email)
        if found is not None:
            return found, False
        try:
            made = await self._contacts.add(host_id, ContactDetails(
                details.email, name_from_address(details.email)[:200]))
        except ContactRefused:  # made at this very moment by another request
            again = await self._contacts.find(host_id, details.email)
            if again is None:
                raise
            return again, False
        return await self._contacts.get(host_id, made), True

    async def schedule(self, host_id: int, contact_id: int, start: datetime, minutes: int, *,
                       now: datetime, title: str = "") -> RecordMeeting:
        """Schedule a meeting with the host's contact at ``start`` (see the module doc)."""
        require_aware(start, "start")
        check_length(minutes)
        end = start + timedelta(minutes=minutes)
        async with self._sessions() as session:
            await _contact(session, host_id, contact_id)
        await self._check(host_id, start, minutes, now)
        token = random_secrets.token_urlsafe(24)
        try:
            async with self._sessions() as session, session.begin():
                user = await _user(session, host_id)
                contact = await _contact(session, host_id, contact_id)
                await _refuse_recorded(session, host_id, start, end)
                named = one_line(title)[:MAX_TITLE] or f"Meeting with {one_line(user.display_name)}"
                calendar = await _writable_default(session, user)
                booking = None
                if calendar is not None:
                    booking = Booking(
                        page_id=None, host_id=host_id, start_at=start, end_at=end,
                        timezone=user.timezone, visitor_name=contact.name or contact.email,
                        visitor_email=contact.email, note="", answers={}, status="confirmed",
                        manage_token_hash=token_hash(token), calendar_id=calendar.id,
                    )
                    session.add(booking)
                    await session.flush()
                found = await engagements.record(
                    session, contact_id=contact.id, source=RECORD_SOURCE,
                    source_key=f"record:{random_secrets.token_hex(12)}", title=named,
                    start=start, end=end, booking_id=booking.id if booking else None,
                )
                if booking is not None:
                    enqueue_sync(session, booking)
                    manage = self._links.manage(token, hostname=await self._links.hostname_of(session, user))
                    announce_booked(session, user, named, booking, manage, by_host=True)
                meeting = _meeting(found, contact, sent=booking is not None)
        except IntegrityError as exc:
            raise _overlap_or(exc) from None
        self._scheduler.forget(host_id)
        return meeting

    async def move(self, host_id: int, engagement_id: int, start: datetime, *,
                   now: datetime) -> RecordMeeting:
        """Move a meeting scheduled from a record to ``start`` (same length); the contact is told
        when it was sent to them."""
        require_aware(start, "start")
        async with self._sessions() as session:
            found, _ = await _engagement(session, host_id, engagement_id)
            _movable(found, now)
            length = found.end_at - found.start_at
        minutes = int(length.total_seconds() // 60)
        await self._check(host_id, start, minutes, now, leave_out=engagement_id)
        token = random_secrets.token_urlsafe(24)
        try:
            async with self._sessions() as session, session.begin():
                found, contact = await _engagement(session, host_id, engagement_id)
                _movable(found, now)
                end = start + length
                await _refuse_recorded(session, host_id, start, end, leave_out=engagement_id)
                booking = await _live_booking(session, found)
                if booking is not None:
                    user = await _user(session, host_id)
                    previous = await move_booking(session, booking, start, end)  # found moves too
                    booking.manage_token_hash = token_hash(token)  # the new e-mail holds the link
                    manage = self._links.manage(token, hostname=await self._links.hostname_of(session, user))
                    announce_moved(session, user, found.title, booking, previous, manage, by_host=True)
                else:
                    await engagements.record(session, contact_id=contact.id, source=RECORD_SOURCE,
                                             source_key=found.source_key, title=found.title,
                                             start=start, end=end)
                meeting = _meeting(found, contact, sent=booking is not None)
        except IntegrityError as exc:
            raise _overlap_or(exc) from None
        self._scheduler.forget(host_id)
        return meeting

    async def cancel(self, host_id: int, engagement_id: int) -> RecordMeeting:
        """Cancel a meeting scheduled from a record (again: nothing more happens); the booking's
        event is removed and the contact told when it was sent to them."""
        async with self._sessions() as session, session.begin():
            found, contact = await _engagement(session, host_id, engagement_id)
            booking = None if found.cancelled else await _live_booking(session, found)
            if booking is not None:
                user = await _user(session, host_id)
                await cancel_booking(session, booking)  # cancels ``found`` too
                announce_cancelled(session, user, found.title, booking, by_host=True, named=False)
            else:
                await engagements.cancel(session, contact_id=contact.id, source_key=found.source_key)
            meeting = _meeting(found, contact, sent=booking is not None)
        self._scheduler.forget(host_id)
        return meeting

    async def _host(self, session: AsyncSession, host_id: int,
                    minutes: int) -> tuple[User, AvailabilityRules]:
        """The host and the rules of their default page for ``minutes`` (default hours without one)."""
        user = await _user(session, host_id)
        page = (await session.execute(pages_default_first(host_id))).scalars().first()
        try:
            rules = rules_from_json(page.rules if page else {}, timezone=user.timezone, durations=(minutes,))
        except RulesError:
            rules = rules_from_json({}, timezone=user.timezone, durations=(minutes,))
        return user, rules

    async def _check(self, host_id: int, start: datetime, minutes: int, now: datetime, *,
                     leave_out: int | None = None) -> None:
        """Refuse ``start`` unless live availability offers it now."""
        async with self._sessions() as session:
            user, rules = await self._host(session, host_id, minutes)
        zone = ZoneInfo(user.timezone)
        day = start.astimezone(zone).date()
        answer = await self._scheduler.availability(
            host_id, start=datetime.combine(day, time(0), zone),
            end=datetime.combine(day + timedelta(days=1), time(0), zone),
            now=now, rules=rules, duration_minutes=minutes, live=True,
        )
        if not answer.complete:
            raise _unreadable([p.name for p in answer.problems])
        end = start + timedelta(minutes=minutes)
        if not any(s.start == start and s.end == end for s in answer.result.slots):
            raise MeetingRefused("taken", "That time is not free any more. Please pick another one.")
        async with self._sessions() as session:
            await _refuse_recorded(session, host_id, start, end, leave_out=leave_out)


def _meeting(found: MeetingEngagement, contact: Contact, *, sent: bool) -> RecordMeeting:
    return RecordMeeting(found.id, found.booking_id, contact.id, contact.name or contact.email,
                         contact.email, found.title, found.start_at, found.end_at, sent)


def _unreadable(names: list[str]) -> MeetingRefused:
    which = ", ".join(names) or "A calendar"
    return MeetingRefused("unreadable", f"{which} could not be checked just now, so no time is offered. "
                                        "Please try again in a moment.")


def _overlap_or(error: IntegrityError) -> Exception:
    if "bookings_no_overlap" in str(error.orig):
        return MeetingRefused("taken", "That time was just taken. Please pick another one.")
    return error


def _movable(found: MeetingEngagement, now: datetime) -> None:
    if found.cancelled:
        raise MeetingRefused("cancelled", "This meeting was cancelled, so it cannot be moved.")
    if found.start_at <= now:
        raise MeetingRefused("started", "This meeting has already started, so it cannot be moved.")


async def _user(session: AsyncSession, host_id: int) -> User:
    user = await session.get(User, host_id)
    if user is None:
        raise MeetingNotFound(host_id)
    return user


async def _contact(session: AsyncSession, host_id: int, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.owner_id != host_id:
        raise MeetingNotFound(contact_id)
    return contact


async def _engagement(session: AsyncSession, host_id: int,
                      engagement_id: int) -> tuple[MeetingEngagement, Contact]:
    """A meeting scheduled from one of the host's records, with its contact."""
    found = await session.get(MeetingEngagement, engagement_id)
    if found is None or found.source != RECORD_SOURCE:
        raise MeetingNotFound(engagement_id)
    return found, await _contact(session, host_id, found.contact_id)


async def _live_booking(session: AsyncSession, found: MeetingEngagement) -> Booking | None:
    booking = await session.get(Booking, found.booking_id) if found.booking_id else None
    return booking if booking is not None and booking.status != "cancelled" else None


async def _writable_default(session: AsyncSession, user: User) -> Calendar | None:
    """The default calendar a meeting is written to: only with calendar sync on, owned, readable."""
    if not user.calendar_sync:
        return None
    calendar = await default_calendar(session, user.id)
    if calendar is None or calendar.status != "active" or calendar.access_role != AccessRole.OWNER.value:
        return None
    connection = await session.get(CalendarConnection, calendar.connection_id)
    return calendar if connection is not None and connection.status == "active" else None


async def _recorded(session: AsyncSession, host_id: int, start: datetime, end: datetime,
                    leave_out: int | None = None) -> list[tuple[datetime, datetime, int]]:
    """The host's recorded-only meetings (scheduled from a record, no booking) in ``[start, end)``."""
    query = (
        select(MeetingEngagement.start_at, MeetingEngagement.end_at, MeetingEngagement.id)
        .join(Contact, Contact.id == MeetingEngagement.contact_id)
        .where(Contact.owner_id == host_id, MeetingEngagement.source == RECORD_SOURCE,
               MeetingEngagement.booking_id.is_(None), MeetingEngagement.cancelled.is_(False),
               MeetingEngagement.start_at < end, MeetingEngagement.end_at > start)
    )
    return [(s, e, i) for s, e, i in (await session.execute(query)).all() if i != leave_out]


async def _refuse_recorded(session: AsyncSession, host_id: int, start: datetime, end: datetime,
                           leave_out: int | None = None) -> None:
    if await _recorded(session, host_id, start, end, leave_out):
        raise MeetingRefused("taken", "You already have a meeting on a record then. "
                                      "Please pick another time.")
